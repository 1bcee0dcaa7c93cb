using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0002: a hidden state returned by a recurrent module is stored, survives a <c>backward()</c> without an autograd
/// detach, and is fed back as a recurrent module's state (<see cref="StateCarries"/>). Reported on the store. For the fix:
/// additional location <see cref="DiagnosticProperties.AnchorLocation"/> and property <see cref="DiagnosticProperties.Insertion"/>
/// say where to detach, the carriers follow from <see cref="DiagnosticProperties.FirstCarrierLocation"/> with their shapes,
/// and for a detach at the carry the tensors to detach follow the carriers.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnboundedBackpropagationThroughTimeAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnboundedBackpropagationThroughTime);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
        RegisterPerTypeOperationAction(
            context,
            program,
            (tree, span) => program.Search.MayReach(tree, span, TextGoal.StatePassing),
            operation =>
            {
                var body = operation.Operation;
                var options = TrainingProgram.Options(operation.Options, body.Syntax.SyntaxTree);
                foreach (var carry in program.StateCarries.Find(body, operation.GetControlFlowGraph, options, operation.CancellationToken))
                {
                    operation.ReportDiagnostic(Create(carry));
                }
            },
            OperationKind.MethodBody);

    private static Diagnostic Create(StateCarry carry)
    {
        var carried = carry.State;
        var carriers = carried.Carriers.OrderBy(c => c.Syntax.SpanStart).ToList();
        var names = carriers.Select(c => c.Name).Distinct().ToList();
        var stateName = names.Count == 1 ? names[0] : "(" + string.Join(", ", names) + ")";
        var properties = DiagnosticProperties.Create();
        var locations = ImmutableArray.CreateBuilder<Location>();
        if (carry.Anchor is { } anchor && anchor.Node.SyntaxTree == carried.Origin.Syntax.SyntaxTree)
        {
            properties = properties.WithInsertion(anchor.Insertion);
            locations.Add(anchor.Node.GetLocation());
            var distinct = carriers.GroupBy(c => c.Syntax.ToString()).Select(g => g.First()).ToList();
            for (var i = 0; i < distinct.Count; i++)
            {
                properties = properties.WithCarrier(i, distinct[i].Shape);
                locations.Add(distinct[i].Syntax.GetLocation());
            }

            for (var i = 0; i < anchor.DetachTargets.Length; i++)
            {
                properties = properties.WithDetachTarget(i, anchor.DetachTargets[i].MayBeNull);
                locations.Add(anchor.DetachTargets[i].Target.GetLocation());
            }
        }

        return Diagnostic.Create(
            DiagnosticDescriptors.UnboundedBackpropagationThroughTime,
            carried.Origin.Syntax.GetLocation(),
            locations,
            properties,
            stateName,
            carried.Module);
    }
}
