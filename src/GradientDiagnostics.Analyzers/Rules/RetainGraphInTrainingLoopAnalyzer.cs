using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0009: <c>backward(retain_graph: true)</c> (named, or a positional constant) inside a training loop. Not reported outside
/// loops. Also reported when a later backward() in the same iteration releases the graph (two losses sharing one graph):
/// the contract names every retain_graph in a training loop, and that case is usually avoidable (one backward() of the
/// summed losses, or a detached shared input). Reported on the backward() call.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class RetainGraphInTrainingLoopAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.RetainGraphInTrainingLoop);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
        RegisterTrainingMethodAction(context, program, (block, method) =>
        {
            foreach (var backward in method.Backwards)
            {
                if (RetainsGraph(backward) && method.TrainingLoopAround(backward) is not null)
                {
                    block.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.RetainGraphInTrainingLoop, backward.Syntax.GetLocation()));
                }
            }
        });

    private static bool RetainsGraph(IInvocationOperation backward) =>
        backward.Arguments.Any(argument =>
            argument.ArgumentKind == ArgumentKind.Explicit
            && argument.Parameter?.Name == "retain_graph"
            && argument.Value.WithoutConversions().ConstantValue is { HasValue: true, Value: true });
}
