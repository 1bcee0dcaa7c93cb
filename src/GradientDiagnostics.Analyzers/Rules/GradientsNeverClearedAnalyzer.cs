using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0008: a training loop repeats backward() and an optimizer's step() but never clears that optimizer's gradients.
/// Any clearing in the loop body that can clear them counts — the optimizer's own zero_grad(), a module's,
/// <c>p.grad.zero_()</c>, or a source helper reaching one — so deliberate accumulation
/// (<c>if (…) { opt.step(); opt.zero_grad(); }</c>) is fine. Reported on the step() call; additional location
/// <see cref="DiagnosticProperties.LoopLocation"/> is the loop whose body the fix clears gradients at the top of.
/// A loop that calls a per-batch helper running backward() and step() with no clearing in the helper or the loop is
/// reported on that call, with <see cref="DiagnosticProperties.HelperStepLocation"/> the helper's step().
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class GradientsNeverClearedAnalyzer : GradientDiagnosticsAnalyzer
{
    private static readonly TextGoal Backward = TextGoal.Mentioning(TorchSharpSymbols.BackwardNames);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.GradientsNeverCleared);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program)
    {
        RegisterTrainingMethodAction(context, program, (block, method) =>
        {
            foreach (var step in method.Steps)
            {
                if (step.Loop is not { } loop
                    || method.GradientClears.Any(clear => loop.Body.Contains(clear) && Clears(program.Symbols, clear, step.StepCall)))
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

        // Only a type that calls a source method whose text (or whose callees' text) runs backward() can call a step helper.
        RegisterPerTypeOperationAction(
            context,
            program,
            (tree, span) => program.Search.MayReach(tree, span, Backward),
            operation => ReportStepHelperCalledInLoop(operation, program),
            OperationKind.Invocation);
    }

    /// <summary>
    /// A loop that calls a per-batch method running backward() and step() (directly or through its own helpers), where
    /// neither the method nor the loop body clears gradients. Reported on the call in the loop — the step() that the loop
    /// repeats — with the loop and the helper's step() as additional locations.
    /// </summary>
    private static void ReportStepHelperCalledInLoop(OperationAnalysisContext context, TrainingProgram program)
    {
        var call = (IInvocationOperation)context.Operation;
        if (!SourceBodies.IsSourceMethod(call.TargetMethod)
            || call.EnclosingLoops().FirstOrDefault() is not { } loop
            || !program.Search.MayReach(call.TargetMethod, TorchSharpSymbols.BackwardNames, context.CancellationToken))
        {
            return;
        }

        var options = TrainingProgram.Options(context.Options, call.Syntax.SyntaxTree);
        if (program.UnclearedStepOf(call.TargetMethod, options, context.CancellationToken) is not { } helperStep)
        {
            return;
        }

        // A loop that steps an optimizer itself is a training loop judged at its own step().
        var bodyCalls = loop.Body.Invocations().ToList();
        if (bodyCalls.Any(other => program.Symbols.IsOptimizerStep(other.TargetMethod))
            || bodyCalls.Any(other => program.Calls.IsGradientClearing(other, options, context.CancellationToken)))
        {
            return;
        }

        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.GradientsNeverCleared,
            call.Syntax.GetLocation(),
            ImmutableArray.Create(loop.Syntax.GetLocation(), helperStep.Syntax.GetLocation()),
            (helperStep.Instance is { IsImplicit: false } instance ? instance.Syntax + ".step()" : "step()") + " in " + call.TargetMethod.Name + "()"));
    }

    /// <summary>Whether <paramref name="clear"/> can clear what <paramref name="stepCall"/> applies: only another optimizer's zero_grad() cannot.</summary>
    private static bool Clears(TorchSharpSymbols symbols, IInvocationOperation clear, IInvocationOperation stepCall)
    {
        if (!symbols.IsZeroGrad(clear.TargetMethod) || !symbols.IsOptimizer(clear.TargetMethod.ContainingType))
        {
            return true;
        }

        var cleared = clear.Instance.ReferencedSymbol();
        var stepped = stepCall.Instance.ReferencedSymbol();
        return cleared is null || stepped is null || SymbolEqualityComparer.Default.Equals(cleared, stepped);
    }
}
