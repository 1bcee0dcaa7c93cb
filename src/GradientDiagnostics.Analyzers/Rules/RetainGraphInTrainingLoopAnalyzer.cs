using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0009: <c>backward(retain_graph: true)</c> (named, or a positional constant) inside a loop that also steps an optimizer.
/// Not reported outside loops. Also reported when a later backward() in the same iteration releases the graph (two losses
/// sharing one graph): the contract names every retain_graph in a training loop, and that case is usually avoidable
/// (one backward() of the summed losses, or a detached shared input).
/// Reported on the backward() call.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class RetainGraphInTrainingLoopAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.RetainGraphInTrainingLoop);

    protected override void Register(CompilationStartAnalysisContext context, TorchSharpSymbols symbols) =>
        TrainingSteps.RegisterTrainingMethodAction(context, symbols, (block, _, method) =>
        {
            foreach (var backward in method.Backwards)
            {
                if (RetainsGraph(backward) && TrainingLoopOf(method, backward) is not null)
                {
                    block.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.RetainGraphInTrainingLoop, backward.Syntax.GetLocation()));
                }
            }
        });

    /// <summary>The innermost loop around <paramref name="backward"/> (or around the step() whose closure holds it) that also steps an optimizer.</summary>
    private static ILoopOperation? TrainingLoopOf(TrainingMethod method, IInvocationOperation backward)
    {
        var closureStep = method.OptimizerSteps.FirstOrDefault(step => TrainingSteps.Contains(step, backward));
        var loops = TrainingSteps.EnclosingLoops(closureStep ?? (IOperation)backward, method.Root);
        return loops.FirstOrDefault(loop => method.OptimizerSteps.Any(step => TrainingSteps.Contains(loop.Body, step)));
    }

    private static bool RetainsGraph(IInvocationOperation backward) =>
        backward.Arguments.Any(argument =>
            argument.ArgumentKind == ArgumentKind.Explicit
            && argument.Parameter?.Name == "retain_graph"
            && TrainingSteps.Unwrap(argument.Value).ConstantValue is { HasValue: true, Value: true });
}
