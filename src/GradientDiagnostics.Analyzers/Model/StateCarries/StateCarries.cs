using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>A state carried into a later iteration without detach, found in one body, with where the fix detaches it.</summary>
internal sealed class StateCarry
{
    public StateCarry(CarriedState state, StateCarryFixAnchor? anchor)
    {
        State = state;
        Anchor = anchor;
    }

    public CarriedState State { get; }

    /// <summary>Null when no place can detach it without cutting a gradient the iteration still needs (no fix is offered).</summary>
    public StateCarryFixAnchor? Anchor { get; }
}

/// <summary>
/// GD0002's part of the compilation model: hidden states returned by recurrent modules that are stored, survive a
/// <c>backward()</c> without an autograd detach, and are fed back as a recurrent module's state. Each candidate body is
/// analysed on its control-flow graph (<see cref="StateFlowAnalysis"/> over the <see cref="StateTransfer"/> lattice);
/// call summaries and training call sites are shared by the whole compilation.
/// </summary>
internal sealed class StateCarries
{
    private readonly TrainingProgram program;

    public StateCarries(TrainingProgram program)
    {
        this.program = program;
        Summaries = new StateCallSummaries(program);
    }

    public StateCallSummaries Summaries { get; }

    /// <summary>
    /// The carried states of a method body. Most bodies never call a recurrent module with a state: they are rejected after
    /// one walk, before any control-flow graph is built.
    /// </summary>
    public IEnumerable<StateCarry> Find(IOperation body, System.Func<ControlFlowGraph> graphOfBody, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        // Only a call of a module with a state argument, or of a source helper that may make one, can start a carried state.
        if (!program.Search.MayPassState(body.Syntax))
        {
            return [];
        }

        var knowledge = new StateKnowledge(program, options, cancellationToken);
        if (!body.Invocations().Any(invocation => knowledge.GetStateCall(invocation) is { StateArguments.IsEmpty: false })
            || !MayCarryAcrossBackward(body, knowledge))
        {
            return [];
        }

        return StateFlowAnalysis.Run(graphOfBody(), capturedFromOuter: false, knowledge, cancellationToken)
            .Select(found => new StateCarry(found.State, StateCarryFixAnchor.Find(found.State, found.Graph, knowledge, cancellationToken)))
            .ToList();
    }

    /// <summary>
    /// A state is fed back after a backward() only when the body runs one, or stores into a place that outlives the call
    /// (a field, a property, a member of an argument, a ref parameter) or captures state in a lambda or local function.
    /// A hand-unrolled cell loop in a module's forward does none of these: its state never ages, and needs no graph.
    /// </summary>
    private static bool MayCarryAcrossBackward(IOperation body, StateKnowledge knowledge)
    {
        foreach (var operation in body.Descendants())
        {
            switch (operation)
            {
                case IAnonymousFunctionOperation or ILocalFunctionOperation:
                case IInvocationOperation invocation when knowledge.RunsBackward(invocation):
                case ISimpleAssignmentOperation assignment when OutlivesTheCall(assignment.Target):
                case IDeconstructionAssignmentOperation deconstruction when deconstruction.Target.DescendantsAndSelf().Any(OutlivesTheCall):
                    return true;
            }
        }

        return false;
    }

    private static bool OutlivesTheCall(IOperation target) => target.WithoutConversions() switch
    {
        IFieldReferenceOperation field => !field.Field.ContainingType.IsTupleType || (field.Instance is { } tuple && OutlivesTheCall(tuple)),
        IPropertyReferenceOperation property => property.Property.IsIndexer ? property.Instance is { } collection && !(collection.WithoutConversions() is ILocalReferenceOperation) : true,
        IArrayElementReferenceOperation element => !(element.ArrayReference.WithoutConversions() is ILocalReferenceOperation),
        IParameterReferenceOperation parameter => parameter.Parameter.RefKind is RefKind.Ref or RefKind.Out,
        _ => false,
    };
}
