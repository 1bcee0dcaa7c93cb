using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>A call that takes a recurrent state and returns one: a recurrent module's call/forward, or a source helper that passes state through.</summary>
internal sealed class StateCall
{
    public StateCall(ImmutableArray<IOperation> stateArguments, int stateParts, string module)
    {
        StateArguments = stateArguments;
        StateParts = stateParts;
        Module = module;
    }

    /// <summary>The arguments fed in as state (empty when the call starts from a zero state).</summary>
    public ImmutableArray<IOperation> StateArguments { get; }

    /// <summary>Which elements of the returned tuple are state; <see cref="Taint.AllParts"/> when the whole result is the state.</summary>
    public int StateParts { get; }

    /// <summary>How messages name the module (its field, property or variable).</summary>
    public string Module { get; }
}

/// <summary>
/// Recognises state calls, following source helpers through flow-insensitive summaries: which parameters a method feeds in
/// as recurrent state and which parts of its result are state. Summaries are computed once per compilation, per method,
/// depth and options (what detaches depends on <c>detach_methods</c>), and the depth strictly decreases, so no cycle can
/// make an answer depend on which body asked first.
/// </summary>
internal sealed class StateCallSummaries
{
    public const int MaxDepth = 2;

    private readonly TrainingProgram program;
    private readonly ConcurrentDictionary<CacheKey, Summary> summaries = new();

    public StateCallSummaries(TrainingProgram program)
    {
        this.program = program;
    }

    private TorchSharpSymbols Symbols => program.Symbols;

    public StateCall? GetStateCall(IInvocationOperation invocation, GradientDiagnosticsOptions options, CancellationToken cancellationToken, int depth = MaxDepth)
    {
        var method = invocation.TargetMethod;
        var isModuleCall = method.Name is "call" or "forward";
        if (!isModuleCall && method.DeclaringSyntaxReferences.IsEmpty)
        {
            return null;
        }

        var receiverType = invocation.Instance?.Type;
        if (isModuleCall && Symbols.IsRecurrentModule(receiverType))
        {
            var state = invocation.Arguments.Where(a => a.Parameter?.Ordinal == 1 && a.ArgumentKind != ArgumentKind.DefaultValue).Select(a => a.Value).ToImmutableArray();
            return new StateCall(state, RecurrentStateParts(receiverType!), ModuleName(invocation));
        }

        if (depth <= 0)
        {
            return null;
        }

        var target = method.Name == "call" && Symbols.IsModule(receiverType) ? FindSourceForward(receiverType, method.Parameters.Length) : method;

        // Only a method that takes and returns tensors, and calls a module with a state, can pass a recurrent state through.
        if (target is null || target.DeclaringSyntaxReferences.IsEmpty || !HoldsTensors(target.ReturnType) || !target.Parameters.Any(p => HoldsTensors(p.Type))
            || !program.Search.MayPassState(target, cancellationToken))
        {
            return null;
        }

        var summary = Summarize(target, depth, options, cancellationToken);
        if (!summary.PassesState)
        {
            return null;
        }

        var arguments = invocation.Arguments
            .Where(a => a.Parameter is not null && a.ArgumentKind != ArgumentKind.DefaultValue && (summary.StateParameters & (1 << a.Parameter.Ordinal)) != 0)
            .Select(a => a.Value)
            .ToImmutableArray();
        return new StateCall(arguments, summary.StateParts, ModuleName(invocation));
    }

    /// <summary>The user module's own <c>forward</c> methods, which <c>call()</c> runs.</summary>
    public static IEnumerable<IMethodSymbol> SourceForwards(ITypeSymbol type)
    {
        for (var current = type as INamedTypeSymbol; current is not null; current = current.BaseType)
        {
            foreach (var member in current.GetMembers("forward").OfType<IMethodSymbol>())
            {
                if (!member.DeclaringSyntaxReferences.IsEmpty)
                {
                    yield return member;
                }
            }
        }
    }

    private static IMethodSymbol? FindSourceForward(ITypeSymbol? type, int parameterCount) =>
        type is null ? null : SourceForwards(type).FirstOrDefault(m => m.Parameters.Length == parameterCount);

    private bool HoldsTensors(ITypeSymbol type) => type switch
    {
        INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable => HoldsTensors(nullable.TypeArguments[0]),
        INamedTypeSymbol { IsTupleType: true } tuple => tuple.TupleElements.Any(e => HoldsTensors(e.Type)),
        _ => Symbols.IsTensor(type),
    };

    /// <summary>LSTM returns (output, h, c), RNN and GRU (output, h), LSTMCell (h, c), RNNCell and GRUCell h.</summary>
    private int RecurrentStateParts(ITypeSymbol type)
    {
        for (var current = type as INamedTypeSymbol; current is not null; current = current.BaseType)
        {
            var definition = current.OriginalDefinition;
            if (Same(definition, Symbols.Lstm))
            {
                return 0b110;
            }

            if (Same(definition, Symbols.LstmCell))
            {
                return 0b011;
            }

            if (Same(definition, Symbols.Rnn) || Same(definition, Symbols.Gru))
            {
                return 0b010;
            }
        }

        return Taint.AllParts;
    }

    private static bool Same(ISymbol? a, ISymbol? b) => a is not null && b is not null && SymbolEqualityComparer.Default.Equals(a, b);

    private static string ModuleName(IInvocationOperation invocation) =>
        invocation.Instance is { } instance ? ReceiverName(instance) : invocation.TargetMethod.Name;

    private static string ReceiverName(IOperation receiver) => receiver switch
    {
        IFieldReferenceOperation field => field.Field.Name,
        IPropertyReferenceOperation { Property.IsIndexer: true, Instance: { } list } => ReceiverName(list),
        IPropertyReferenceOperation property => property.Property.Name,
        IArrayElementReferenceOperation element => ReceiverName(element.ArrayReference),
        ILocalReferenceOperation local => local.Local.Name,
        IParameterReferenceOperation parameter => parameter.Parameter.Name,
        IConversionOperation conversion => ReceiverName(conversion.Operand),
        _ => receiver.Type?.Name ?? "module",
    };

    private Summary Summarize(IMethodSymbol method, int depth, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        var key = new CacheKey(method.OriginalDefinition, depth, options);
        if (summaries.TryGetValue(key, out var known))
        {
            return known;
        }

        var summary = new SummaryBuilder(this, options, depth, cancellationToken).Build(method);
        return summaries.GetOrAdd(key, summary);
    }

    /// <summary>What a source method does with recurrent state: which parameters it feeds in as state, which parts of its result are state.</summary>
    private readonly struct Summary
    {
        public Summary(int stateParameters, int stateParts)
        {
            StateParameters = stateParameters;
            StateParts = stateParts;
        }

        public int StateParameters { get; }

        public int StateParts { get; }

        public bool PassesState => StateParameters != 0 && StateParts != 0;
    }

    /// <summary>One flow-insensitive pass over a method: locals that hold state, locals computed from parameters, what is returned.</summary>
    private sealed class SummaryBuilder
    {
        private readonly StateCallSummaries owner;
        private readonly GradientDiagnosticsOptions options;
        private readonly int depth;
        private readonly CancellationToken cancellationToken;

        public SummaryBuilder(StateCallSummaries owner, GradientDiagnosticsOptions options, int depth, CancellationToken cancellationToken)
        {
            this.owner = owner;
            this.options = options;
            this.depth = depth;
            this.cancellationToken = cancellationToken;
        }

        public Summary Build(IMethodSymbol method)
        {
            var parameterBits = 0;
            var parts = 0;
            foreach (var body in owner.program.Bodies.Of(method, cancellationToken))
            {
                var operations = body.DescendantsAndSelf().ToList();

                // The stores, and what each stored value reads, are found once; the fixpoint only joins bits and locals.
                var stores = operations
                    .SelectMany(Stores)
                    .Where(store => store.Target is not null)
                    .Select(store => (Target: store.Target!, store.Value, store.IsState, Reads: store.IsState ? default : Reads(store.Value)))
                    .ToList();
                var fromParameters = new Dictionary<ISymbol, int>(SymbolEqualityComparer.Default);
                var stateLocals = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
                for (var changed = true; changed;)
                {
                    changed = false;
                    foreach (var (target, value, isState, reads) in stores)
                    {
                        var bits = isState ? 0 : ParameterBits(reads, fromParameters);
                        var known = fromParameters.TryGetValue(target, out var previous) ? previous : 0;
                        if ((known | bits) != known)
                        {
                            fromParameters[target] = known | bits;
                            changed = true;
                        }

                        if (!stateLocals.Contains(target) && (isState || HoldsState(value, stateLocals)))
                        {
                            stateLocals.Add(target);
                            changed = true;
                        }
                    }
                }

                foreach (var invocation in operations.OfType<IInvocationOperation>())
                {
                    if (Inner(invocation) is { } inner)
                    {
                        foreach (var argument in inner.StateArguments)
                        {
                            parameterBits |= ParameterBits(Reads(argument), fromParameters);
                        }
                    }
                }

                foreach (var returned in operations.OfType<IReturnOperation>())
                {
                    if (returned.ReturnedValue is { } value)
                    {
                        parts |= ReturnedStateParts(value, stateLocals);
                    }
                }
            }

            return new Summary(parameterBits, parts);
        }

        private StateCall? Inner(IInvocationOperation invocation) => owner.GetStateCall(invocation, options, cancellationToken, depth - 1);

        private int ReturnedStateParts(IOperation value, HashSet<ISymbol> stateLocals)
        {
            value = value.WithoutConversions();
            if (value is ITupleOperation tuple)
            {
                var bits = 0;
                for (var i = 0; i < tuple.Elements.Length && i < 31; i++)
                {
                    if (HoldsState(tuple.Elements[i], stateLocals))
                    {
                        bits |= 1 << i;
                    }
                }

                return bits;
            }

            if (value is IInvocationOperation invocation && Inner(invocation) is { } call)
            {
                return call.StateParts;
            }

            return HoldsState(value, stateLocals) ? Taint.AllParts : 0;
        }

        private bool HoldsState(IOperation value, HashSet<ISymbol> stateLocals)
        {
            value = value.WithoutConversions();
            switch (value)
            {
                case ILocalReferenceOperation local:
                    return stateLocals.Contains(local.Local);
                case ITupleOperation tuple:
                    return tuple.Elements.Any(e => HoldsState(e, stateLocals));
                case IInvocationOperation invocation when Inner(invocation) is { } call:
                    return call.StateParts == Taint.AllParts;
                case IInvocationOperation invocation when owner.program.Calls.IsDetaching(invocation, options, cancellationToken):
                    return false;
                case IInvocationOperation { Instance: { } instance } invocation when owner.Symbols.IsTensor(invocation.Type):
                    return HoldsState(instance, stateLocals);
                case IFieldReferenceOperation { Instance: { } instance } field when field.Field.ContainingType.IsTupleType:
                    return TupleElementHoldsState(instance, field.Field, stateLocals);
                default:
                    return false;
            }
        }

        private bool TupleElementHoldsState(IOperation instance, IFieldSymbol field, HashSet<ISymbol> stateLocals)
        {
            instance = instance.WithoutConversions();
            var index = field.TupleElementIndex();
            if (instance is IInvocationOperation invocation && index >= 0 && Inner(invocation) is { } call)
            {
                return call.StateParts == Taint.AllParts || (call.StateParts & (1 << index)) != 0;
            }

            return HoldsState(instance, stateLocals);
        }

        /// <summary>The (target local, value) pairs an operation stores, with deconstructions split per element.</summary>
        private IEnumerable<(ISymbol? Target, IOperation Value, bool IsState)> Stores(IOperation operation)
        {
            switch (operation)
            {
                case ISimpleAssignmentOperation assignment:
                    yield return (LocalOf(assignment.Target), assignment.Value, false);
                    break;
                case IVariableDeclaratorOperation { Initializer: { } initializer } declarator:
                    yield return (declarator.Symbol, initializer.Value, false);
                    break;
                case IDeconstructionAssignmentOperation deconstruction:
                    var target = deconstruction.Target is IDeclarationExpressionOperation declaration ? declaration.Expression : deconstruction.Target;
                    if (target is ITupleOperation tuple)
                    {
                        var value = deconstruction.Value.WithoutConversions();
                        var call = value is IInvocationOperation invocation ? Inner(invocation) : null;
                        for (var i = 0; i < tuple.Elements.Length; i++)
                        {
                            var element = LocalOf(tuple.Elements[i]);
                            if (value is ITupleOperation literal && i < literal.Elements.Length)
                            {
                                yield return (element, literal.Elements[i], false);
                            }
                            else
                            {
                                yield return (element, value, call is not null && (call.StateParts == Taint.AllParts || (call.StateParts & (1 << i)) != 0));
                            }
                        }
                    }

                    break;
            }
        }

        private static ISymbol? LocalOf(IOperation operation) => operation.ReferencedSymbol() as ILocalSymbol;

        /// <summary>The parameters a value reads directly (as bits) and the locals it reads.</summary>
        private static (int Parameters, List<ILocalSymbol> Locals) Reads(IOperation value)
        {
            var parameters = 0;
            var locals = new List<ILocalSymbol>();
            foreach (var reference in value.DescendantsAndSelf())
            {
                if (reference is IParameterReferenceOperation parameter && parameter.Parameter.Ordinal < 31)
                {
                    parameters |= 1 << parameter.Parameter.Ordinal;
                }
                else if (reference is ILocalReferenceOperation local)
                {
                    locals.Add(local.Local);
                }
            }

            return (parameters, locals);
        }

        private static int ParameterBits((int Parameters, List<ILocalSymbol> Locals) reads, Dictionary<ISymbol, int> fromParameters)
        {
            var bits = reads.Parameters;
            foreach (var local in reads.Locals)
            {
                if (fromParameters.TryGetValue(local, out var known))
                {
                    bits |= known;
                }
            }

            return bits;
        }
    }
}
