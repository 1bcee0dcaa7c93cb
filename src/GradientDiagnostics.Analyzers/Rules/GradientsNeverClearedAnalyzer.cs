using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0008: a loop repeats backward() and an optimizer's step() but never clears that optimizer's gradients.
/// Any zero_grad() in the loop body that can clear them counts — the optimizer's own, a module's, <c>p.grad.zero_()</c>,
/// or a source helper reaching one — so deliberate accumulation (<c>if (…) { opt.step(); opt.zero_grad(); }</c>) is fine.
/// Reported on the step() call; additional location [0] is the loop whose body the fix clears gradients at the top of.
/// A loop that calls a per-batch helper running backward() and step() with no clearing in the helper or the loop is reported
/// on that call (additional location [1]: the helper's step()).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class GradientsNeverClearedAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.GradientsNeverCleared);

    protected override void Register(CompilationStartAnalysisContext context, TorchSharpSymbols symbols)
    {
        TrainingSteps.RegisterTrainingMethodAction(context, symbols, (block, trainingSteps, method) =>
        {
            foreach (var step in method.Steps)
            {
                if (step.Loop is not { } loop
                    || method.GradientClears.Any(clear => TrainingSteps.Contains(loop.Body, clear) && Clears(trainingSteps.Symbols, clear, step.StepCall)))
                {
                    continue;
                }

                block.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.GradientsNeverCleared,
                    step.StepCall.Syntax.GetLocation(),
                    ImmutableArray.Create(loop.Syntax.GetLocation()),
                    step.DisplayName));
            }
        });

        var steps = TrainingSteps.For(symbols);
        context.RegisterOperationBlockAction(block =>
        {
            foreach (var root in block.OperationBlocks)
            {
                ReportStepHelpersCalledInLoops(block, steps, root);
            }
        });
    }

    /// <summary>
    /// A loop that calls a per-batch method running backward() and step() (directly or through its own helpers), where
    /// neither the method nor the loop body clears gradients. Reported on the call in the loop — the step() that the loop
    /// repeats — with the loop and the helper's step() as additional locations.
    /// </summary>
    private static void ReportStepHelpersCalledInLoops(OperationBlockAnalysisContext block, TrainingSteps steps, IOperation root)
    {
        foreach (var call in root.Descendants().OfType<IInvocationOperation>())
        {
            block.CancellationToken.ThrowIfCancellationRequested();
            if (!TrainingSteps.IsSourceMethod(call.TargetMethod)
                || TrainingSteps.EnclosingLoops(call, root).FirstOrDefault() is not { } loop)
            {
                continue;
            }

            var bodyCalls = loop.Body.Descendants().OfType<IInvocationOperation>().ToList();

            // A loop that steps an optimizer itself is a training loop judged above, at its own step().
            if (bodyCalls.Any(other => steps.Symbols.IsOptimizerStep(other.TargetMethod))
                || steps.UnclearedStepOf(call.TargetMethod, block.Options, block.CancellationToken) is not { } helperStep
                || bodyCalls.Any(other => steps.IsGradientClearing(other, block.CancellationToken)))
            {
                continue;
            }

            block.ReportDiagnostic(Diagnostic.Create(
                DiagnosticDescriptors.GradientsNeverCleared,
                call.Syntax.GetLocation(),
                ImmutableArray.Create(loop.Syntax.GetLocation(), helperStep.Syntax.GetLocation()),
                (helperStep.Instance is { IsImplicit: false } instance ? instance.Syntax + ".step()" : "step()") + " in " + call.TargetMethod.Name + "()"));
        }
    }

    /// <summary>Whether <paramref name="clear"/> can clear what <paramref name="stepCall"/> applies: only another optimizer's zero_grad() cannot.</summary>
    private static bool Clears(TorchSharpSymbols symbols, IInvocationOperation clear, IInvocationOperation stepCall)
    {
        if (!symbols.IsZeroGrad(clear.TargetMethod) || !symbols.IsOptimizer(clear.TargetMethod.ContainingType))
        {
            return true;
        }

        var cleared = TrainingSteps.ReferencedSymbol(clear.Instance);
        var stepped = TrainingSteps.ReferencedSymbol(stepCall.Instance);
        return cleared is null || stepped is null || SymbolEqualityComparer.Default.Equals(cleared, stepped);
    }
}
