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

        // The walk for backward(), outliving stores and captures comes first: it binds nothing, while recognising a state
        // call of a source helper binds the helper to summarise it.
        var knowledge = new StateKnowledge(program, options, cancellationToken);
        if (!MayCarryAcrossBackward(body, knowledge)
            || !body.Invocations().Any(invocation => knowledge.GetStateCall(invocation) is { StateArguments.IsEmpty: false }))
        {
            return [];
        }

        if (FeedsBackOnlyFreshLocals(body, knowledge))
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
        // Source helpers are asked last, and only when nothing in the body itself settles it: each question walks text.
        var helperCalls = new List<IInvocationOperation>();
        foreach (var operation in body.Descendants())
        {
            switch (operation)
            {
                case IAnonymousFunctionOperation or ILocalFunctionOperation:
                case IInvocationOperation invocation when knowledge.Symbols.IsBackward(invocation.TargetMethod):
                case ISimpleAssignmentOperation assignment when OutlivesTheCall(assignment.Target):
                case IDeconstructionAssignmentOperation deconstruction when deconstruction.Target.DescendantsAndSelf().Any(OutlivesTheCall):
                    return true;
                case IInvocationOperation invocation when !invocation.TargetMethod.DeclaringSyntaxReferences.IsEmpty:
                    helperCalls.Add(invocation);
                    break;
            }
        }

        return helperCalls.Any(knowledge.RunsBackward);
    }

    /// <summary>
    /// The common truncated-BPTT shape, settled without a control-flow graph: every state the body feeds to a module is a
    /// local (or a tuple of locals) that is only ever given fresh values — null, a new tensor, a detach or a detaching helper,
    /// or a dispose-scope move of one. Whatever the order of the statements, no module's state can then be fed back through
    /// them. Any other store (a module's output, a deconstruction, a ref or out argument, a foreach or pattern variable)
    /// leaves the question to the flow analysis.
    /// </summary>
    private static bool FeedsBackOnlyFreshLocals(IOperation body, StateKnowledge knowledge)
    {
        var fed = new HashSet<ILocalSymbol>(SymbolEqualityComparer.Default);
        foreach (var invocation in body.Invocations())
        {
            if (knowledge.GetStateCall(invocation) is { } call && !call.StateArguments.All(argument => CollectLocals(argument, fed)))
            {
                return false;
            }
        }

        foreach (var operation in body.Descendants())
        {
            var freshOrUnrelated = operation switch
            {
                ILocalReferenceOperation reference when fed.Contains(reference.Local) => IsReadOrFreshStore(reference, knowledge),
                IVariableDeclaratorOperation declarator when fed.Contains(declarator.Symbol) =>
                    !declarator.Symbol.IsRef && (declarator.GetVariableInitializer() is not { } initializer || IsFresh(initializer.Value, knowledge)),
                IForEachLoopOperation loop => !loop.Locals.Any(fed.Contains),
                IDeclarationPatternOperation { DeclaredSymbol: ILocalSymbol declared } => !fed.Contains(declared),
                IRecursivePatternOperation { DeclaredSymbol: ILocalSymbol declared } => !fed.Contains(declared),
                _ => true,
            };
            if (!freshOrUnrelated)
            {
                return false;
            }
        }

        return true;
    }

    private static bool CollectLocals(IOperation argument, HashSet<ILocalSymbol> locals)
    {
        switch (argument.WithoutConversions())
        {
            case ILocalReferenceOperation local:
                locals.Add(local.Local);
                return true;
            case ITupleOperation tuple:
                return tuple.Elements.All(element => CollectLocals(element, locals));
            case ILiteralOperation or IDefaultValueOperation:
                return true;
            default:
                return false;
        }
    }

    private static bool IsReadOrFreshStore(ILocalReferenceOperation reference, StateKnowledge knowledge)
    {
        switch (reference.Parent)
        {
            case ISimpleAssignmentOperation assignment when assignment.Target == reference:
                return !assignment.IsRef && IsFresh(assignment.Value, knowledge);
            case IAssignmentOperation assignment when assignment.Target == reference:
            case IIncrementOrDecrementOperation:
            case IDeclarationExpressionOperation:
            case IArgumentOperation { Parameter.RefKind: not RefKind.None and not RefKind.In }:
                return false;
        }

        // A deconstruction target receives whatever the right-hand side holds.
        for (var current = reference.Parent; current is ITupleOperation or IDeclarationExpressionOperation or IConversionOperation; current = current.Parent)
        {
            if (current.Parent is IDeconstructionAssignmentOperation deconstruction && deconstruction.Target == current)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A value with no module state in it, judged as the flow analysis would evaluate it.</summary>
    private static bool IsFresh(IOperation value, StateKnowledge knowledge)
    {
        switch (value.WithoutConversions())
        {
            case ILiteralOperation or IDefaultValueOperation or IObjectCreationOperation:
                return true;
            case ITupleOperation tuple:
                return tuple.Elements.All(element => IsFresh(element, knowledge));
            case IConditionalOperation { WhenFalse: { } whenFalse } conditional:
                return IsFresh(conditional.WhenTrue, knowledge) && IsFresh(whenFalse, knowledge);
            case IInvocationOperation invocation when knowledge.GetStateCall(invocation) is not null:
                return false;
            case IInvocationOperation invocation when knowledge.IsDetaching(invocation):
                return true;
            case IInvocationOperation { Instance: { } instance } invocation when knowledge.Symbols.IsTensor(invocation.TargetMethod.ContainingType):
                // DetachFromDisposeScope, MoveToOuterDisposeScope, to(): the result is as attached as the receiver.
                return knowledge.Symbols.IsTensor(invocation.Type) && IsFresh(instance, knowledge);
            case IInvocationOperation { Instance: null } invocation:
                return knowledge.Symbols.IsTorchFactory(invocation.TargetMethod);
            default:
                return false;
        }
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
