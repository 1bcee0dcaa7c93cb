using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The transfer function of the state-flow analysis: how the operations of one basic block change which places hold a
/// graph-attached state, and where a state that crossed a backward() is fed back to a recurrent module (a report).
/// </summary>
internal sealed class StateTransfer
{
    private readonly ControlFlowGraph graph;
    private readonly bool capturedFromOuter;
    private readonly StateKnowledge knowledge;
    private readonly CancellationToken cancellationToken;
    private readonly HashSet<ILocalSymbol> ownLocals = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<(ISymbol Member, SyntaxNode Syntax), Carrier> carriers = new();
    private readonly Dictionary<IOperation, CarriedState> reports = new();
    private readonly Dictionary<int, bool> noGrad = new();

    // The CFG captures an assignment target (e.g. of `h = c ? a : b` or `h = h?.detach()`) and stores through the capture.
    private readonly Dictionary<CaptureId, IOperation> capturedTargets = new();
    private ImmutableDictionary<Place, ImmutableHashSet<Taint>> places = ImmutableDictionary.Create<Place, ImmutableHashSet<Taint>>();

    public StateTransfer(ControlFlowGraph graph, bool capturedFromOuter, StateKnowledge knowledge, CancellationToken cancellationToken)
    {
        this.graph = graph;
        this.capturedFromOuter = capturedFromOuter;
        this.knowledge = knowledge;
        this.cancellationToken = cancellationToken;
        CollectLocals(graph.Root);
        foreach (var capture in graph.Blocks.SelectMany(b => b.Operations).OfType<IFlowCaptureOperation>())
        {
            if (PlaceOf(capture.Value) is { Capture: null })
            {
                capturedTargets[capture.Id] = capture.Value;
            }
        }
    }

    /// <summary>The stores whose state a later iteration feeds back after a backward(), in source order.</summary>
    public IEnumerable<CarriedState> Reports => reports.Values.OrderBy(r => r.Origin.Syntax.SpanStart);

    public FlowState Transfer(BasicBlock block, FlowState state)
    {
        places = state.Places;
        foreach (var operation in block.Operations)
        {
            Process(operation);
        }

        if (block.BranchValue is not null)
        {
            Process(block.BranchValue);
        }

        return new FlowState(places);
    }

    /// <summary>
    /// Places that outlive one call: fields and properties, members of an object passed in, ref parameters, and
    /// (in a local function or lambda) locals captured from the enclosing method.
    /// </summary>
    public bool IsPersistent(Place place) => (place.Root ?? place.Member) switch
    {
        IFieldSymbol or IPropertySymbol => true,
        IParameterSymbol parameter => place.Root is not null || parameter.RefKind is RefKind.Ref or RefKind.Out,
        ILocalSymbol local => capturedFromOuter && !ownLocals.Contains(local),
        _ => false,
    };

    private void CollectLocals(ControlFlowRegion region)
    {
        ownLocals.UnionWith(region.Locals);
        foreach (var nested in region.NestedRegions)
        {
            CollectLocals(nested);
        }
    }

    private void Process(IOperation operation)
    {
        cancellationToken.ThrowIfCancellationRequested();
        switch (operation)
        {
            case ISimpleAssignmentOperation assignment:
                ProcessChildren(assignment.Target);
                Process(assignment.Value);
                Store(assignment.Target, Evaluate(assignment.Value), assignment);
                break;
            case IDeconstructionAssignmentOperation deconstruction:
                Process(deconstruction.Value);
                Deconstruct(deconstruction.Target, Evaluate(deconstruction.Value), deconstruction);
                break;
            case IFlowCaptureOperation capture:
                Process(capture.Value);
                SetPlace(new Place(capture.Id), Evaluate(capture.Value));
                break;
            case IInvocationOperation invocation:
                ProcessChildren(invocation);
                ApplyInvocation(invocation);
                break;
            case IFlowAnonymousFunctionOperation:
                break;
            default:
                ProcessChildren(operation);
                break;
        }
    }

    private void ProcessChildren(IOperation operation)
    {
        foreach (var child in operation.ChildOperations)
        {
            Process(child);
        }
    }

    private void ApplyInvocation(IInvocationOperation invocation)
    {
        if (knowledge.GetStateCall(invocation) is { } call)
        {
            foreach (var taint in call.StateArguments.SelectMany(Evaluate))
            {
                if (taint.Age == StateAge.AcrossBackward && taint.Origin is not null && taint.Carrier is not null)
                {
                    if (!reports.TryGetValue(taint.Origin, out var carried))
                    {
                        reports.Add(taint.Origin, carried = new CarriedState(taint.Origin, taint.Module));
                    }

                    if (!carried.Carriers.Contains(taint.Carrier))
                    {
                        carried.Carriers.Add(taint.Carrier);
                    }
                }
            }

            return;
        }

        foreach (var detached in knowledge.DetachedInPlace(invocation))
        {
            KillRooted(detached);
        }

        if (invocation.Instance is { } instance && StatePlaces.ElementsOf(instance, knowledge.Symbols) is { } elements)
        {
            if (invocation.TargetMethod.Name is "Clear" or "Remove")
            {
                SetPlace(elements, ImmutableHashSet<Taint>.Empty);
            }
            else if (places.TryGetValue(elements, out var held))
            {
                // TryGetValue(key, out var h) hands an element out: the value flows, it is not stored anew.
                foreach (var argument in invocation.Arguments.Where(a => a.Parameter?.RefKind == RefKind.Out))
                {
                    if (PlaceOf(argument.Value) is { } outPlace)
                    {
                        SetPlace(outPlace, held);
                    }
                }
            }
        }

        if (knowledge.RunsBackward(invocation))
        {
            places = places.ToImmutableDictionary(pair => pair.Key, pair => pair.Value.Select(t => t.AfterBackward()).ToImmutableHashSet());
        }
    }

    /// <summary>An in-place detach (detach_(), or a holder's Detach()) clears the place it is called on and every place rooted there.</summary>
    private void KillRooted(IOperation target)
    {
        target = StatePlaces.Strip(target);
        var place = PlaceOf(target);
        if (place is not null)
        {
            SetPlace(place.Value, ImmutableHashSet<Taint>.Empty);
        }

        ISymbol? root = target switch
        {
            IInstanceReferenceOperation => null,
            ILocalReferenceOperation local => local.Local,
            IParameterReferenceOperation parameter => parameter.Parameter,
            _ => place?.Member,
        };
        var thisInstance = target is IInstanceReferenceOperation;
        foreach (var key in places.Keys.ToList())
        {
            if (key.Capture is null && ((thisInstance && key.Root is null && key.Member is IFieldSymbol or IPropertySymbol)
                || (root is not null && SymbolEqualityComparer.Default.Equals(key.Root, root))))
            {
                places = places.Remove(key);
            }
        }
    }

    private void Store(IOperation target, ImmutableHashSet<Taint> value, IOperation origin)
    {
        if (StatePlaces.Strip(target) is IFlowCaptureReferenceOperation reference && capturedTargets.TryGetValue(reference.Id, out var captured))
        {
            target = captured;
        }

        if (PlaceOf(target) is not { } place)
        {
            return;
        }

        if (value.IsEmpty || place.Capture is not null)
        {
            SetPlace(place, value);
            return;
        }

        var carrier = CarrierFor(place, target);
        var scoped = IsIterationScoped(place, origin.Syntax);

        // Copying an already carried state into a local of this iteration does not carry it: the report stays at the store that did.
        SetPlace(place, value.Select(t => scoped && t.Age == StateAge.AcrossBackward && t.Origin is not null ? t : t.StoredIn(origin, carrier)).ToImmutableHashSet());
    }

    private void Deconstruct(IOperation target, ImmutableHashSet<Taint> value, IOperation origin)
    {
        target = target is IDeclarationExpressionOperation declaration ? declaration.Expression : target;
        if (target is not ITupleOperation tuple)
        {
            Store(target, value, origin);
            return;
        }

        for (var i = 0; i < tuple.Elements.Length; i++)
        {
            var element = tuple.Elements[i];
            var part = Taint.Element(value, i);
            if (element is ITupleOperation or IDeclarationExpressionOperation)
            {
                Deconstruct(element, part, origin);
            }
            else
            {
                Store(element, part, origin);
            }
        }
    }

    /// <summary>True inside <c>using (no_grad())</c>, or after <c>using var _ = no_grad();</c> in an enclosing block.</summary>
    private bool UnderNoGrad(SyntaxNode node)
    {
        if (!noGrad.TryGetValue(node.SpanStart, out var answer))
        {
            noGrad.Add(node.SpanStart, answer = ComputeUnderNoGrad(node));
        }

        return answer;
    }

    private bool ComputeUnderNoGrad(SyntaxNode node)
    {
        var model = graph.OriginalOperation.SemanticModel;
        if (model is null || node.SyntaxTree != model.SyntaxTree)
        {
            return false;
        }

        foreach (var ancestor in node.Ancestors())
        {
            if ((ancestor is UsingStatementSyntax { Expression: { } expression } && DisablesGrad(expression, model))
                || (ancestor is UsingStatementSyntax { Declaration: { } declaration } && declaration.Variables.Any(v => v.Initializer is { } i && DisablesGrad(i.Value, model))))
            {
                return true;
            }

            if (ancestor is BlockSyntax block
                && block.Statements.TakeWhile(s => !s.Span.Contains(node.Span)).OfType<LocalDeclarationStatementSyntax>()
                    .Any(local => local.UsingKeyword.RawKind > 0 && local.Declaration.Variables.Any(v => v.Initializer is { } i && DisablesGrad(i.Value, model))))
            {
                return true;
            }

            if (ancestor == graph.OriginalOperation.Syntax)
            {
                break;
            }
        }

        return false;
    }

    private bool DisablesGrad(ExpressionSyntax expression, SemanticModel model) =>
        model.GetSymbolInfo(expression, cancellationToken).Symbol is IMethodSymbol method && knowledge.Symbols.DisablesGradients(method);

    /// <summary>A local of this function declared inside the innermost loop around <paramref name="store"/> (or anywhere, outside loops).</summary>
    private bool IsIterationScoped(Place place, SyntaxNode store)
    {
        if (place.Root is not null || place.Member is not ILocalSymbol local || !ownLocals.Contains(local))
        {
            return false;
        }

        var root = graph.OriginalOperation.Syntax;
        var loop = store.Ancestors().TakeWhile(a => a != root).FirstOrDefault(StateCarryFixAnchor.IsLoop);
        return loop is null || local.DeclaringSyntaxReferences.Any(r => loop.Span.Contains(r.Span));
    }

    private Carrier CarrierFor(Place place, IOperation target)
    {
        var member = place.Member!;
        var key = (member, target.Syntax);
        if (!carriers.TryGetValue(key, out var carrier))
        {
            var shape = StatePlaces.ShapeOf(SymbolEqualityComparer.Default.Equals(place.Root, member) ? null : member, target.Type, graph.OriginalOperation.SemanticModel, cancellationToken);
            carriers.Add(key, carrier = new Carrier(member, target.Syntax, shape, IsPersistent(place)));
        }

        return carrier;
    }

    private void SetPlace(Place place, ImmutableHashSet<Taint> value) =>
        places = value.IsEmpty ? places.Remove(place) : places.SetItem(place, value);

    private Place? PlaceOf(IOperation operation) => StatePlaces.PlaceOf(operation, knowledge.Symbols);

    /// <summary>The state taints a value carries; empty when it holds no graph-attached recurrent state.</summary>
    private ImmutableHashSet<Taint> Evaluate(IOperation operation)
    {
        operation = StatePlaces.Strip(operation);
        if (PlaceOf(operation) is { } place)
        {
            return places.TryGetValue(place, out var stored) ? stored : ImmutableHashSet<Taint>.Empty;
        }

        switch (operation)
        {
            case ITupleOperation tuple:
                var elements = ImmutableHashSet.CreateBuilder<Taint>();
                for (var i = 0; i < tuple.Elements.Length && i < 31; i++)
                {
                    foreach (var taint in Evaluate(tuple.Elements[i]))
                    {
                        elements.Add(taint.WithParts(1 << i));
                    }
                }

                return elements.ToImmutable();
            case IFieldReferenceOperation { Instance: { } instance } field when field.Field.ContainingType.IsTupleType:
                var index = field.Field.TupleElementIndex();
                return index < 0 ? ImmutableHashSet<Taint>.Empty : Taint.Element(Evaluate(instance), index);
            case IPropertyReferenceOperation { Instance: { } instance, Property.Name: "Value" } property
                when property.Property.ContainingType.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T:
                return Evaluate(instance);
            case IInvocationOperation invocation:
                return EvaluateInvocation(invocation);
            default:
                return ImmutableHashSet<Taint>.Empty;
        }
    }

    private ImmutableHashSet<Taint> EvaluateInvocation(IInvocationOperation invocation)
    {
        var symbols = knowledge.Symbols;
        if (knowledge.GetStateCall(invocation) is { } call)
        {
            // Under no_grad() or inference_mode() the returned state has no history to carry.
            return UnderNoGrad(invocation.Syntax)
                ? ImmutableHashSet<Taint>.Empty
                : ImmutableHashSet.Create(new Taint(null, null, call.Module, call.StateParts, StateAge.ThisStep));
        }

        if (knowledge.IsDetaching(invocation))
        {
            return ImmutableHashSet<Taint>.Empty;
        }

        // A collection's method that returns an element (GetValueOrDefault, First, ...) hands out what the collection holds.
        if (invocation.Instance is { } collection && StatePlaces.ElementsOf(collection, symbols) is { } elements
            && places.TryGetValue(elements, out var held) && symbols.IsTensor(invocation.Type))
        {
            return held;
        }

        // A Tensor method on a graph-attached tensor stays attached: DetachFromDisposeScope, MoveToOuterDisposeScope, to(), contiguous().
        if (invocation.Instance is { } instance && symbols.IsTensor(invocation.TargetMethod.ContainingType) && symbols.IsTensor(invocation.Type))
        {
            return Evaluate(instance);
        }

        // A source helper that neither detaches nor builds state hands a state argument back attached (e.g. a helper that only moves scopes).
        if (!invocation.TargetMethod.DeclaringSyntaxReferences.IsEmpty
            && (symbols.IsTensor(invocation.Type) || invocation.Type?.IsTupleType == true || invocation.Type?.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T))
        {
            return invocation.Arguments.SelectMany(a => Evaluate(a.Value)).Select(t => t.WithParts(Taint.AllParts)).ToImmutableHashSet();
        }

        return ImmutableHashSet<Taint>.Empty;
    }
}
