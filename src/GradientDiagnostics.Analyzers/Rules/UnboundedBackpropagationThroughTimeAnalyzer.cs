using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0002: a hidden state returned by a recurrent module is stored, survives a <c>backward()</c> without an autograd
/// detach, and is fed back as a recurrent module's state. Each method body is analysed on its control-flow graph with a
/// forward may-analysis that tracks which locals, parameters, fields and properties hold a graph-attached state.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnboundedBackpropagationThroughTimeAnalyzer : GradientDiagnosticsAnalyzer
{
    /// <summary>Diagnostic property: how the fix inserts the detach, relative to the anchor node.</summary>
    public const string InsertModeProperty = "InsertMode";

    /// <summary>Diagnostic properties: the span of the anchor node (a statement, loop or method) in the diagnostic's document.</summary>
    public const string AnchorStartProperty = "AnchorStart";
    public const string AnchorLengthProperty = "AnchorLength";

    /// <summary>Insert the detach statements just after the anchor statement.</summary>
    public const string InsertAfterStatement = "After";

    /// <summary>Insert the detach statements at the start of the body of the anchor loop or method.</summary>
    public const string InsertAtBodyStart = "BodyStart";

    /// <summary>Diagnostic property: the carried state, one line per carrier, <c>kind|expression</c>.</summary>
    public const string CarriersProperty = "Carriers";

    /// <summary>Carrier kinds written into <see cref="CarriersProperty"/>; tuple kinds are followed by their arity (<c>Tuple2|state</c>).</summary>
    public const string TensorKind = "Tensor";
    public const string NullableTensorKind = "Tensor?";
    public const string TupleKind = "Tuple";
    public const string NullableTupleKind = "Tuple?";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnboundedBackpropagationThroughTime);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program)
    {
        var symbols = program.Symbols;
        var bodies = program;
        var trainingCallees = new TrainingCallees(context.Compilation, symbols, bodies);
        context.RegisterOperationAction(
            operationContext =>
            {
                var options = GradientDiagnosticsOptions.Read(operationContext.Options.AnalyzerConfigOptionsProvider, operationContext.Operation.Syntax.SyntaxTree);
                var knowledge = new RecurrentKnowledge(symbols, bodies, trainingCallees, options, operationContext.CancellationToken);

                // Most methods never call a recurrent module with a state; they are not worth a control-flow graph.
                if (!operationContext.Operation.Descendants().OfType<IInvocationOperation>().Any(i => knowledge.GetStateCall(i) is { StateArguments.IsEmpty: false }))
                {
                    return;
                }

                var graph = operationContext.GetControlFlowGraph();
                AnalyzeGraph(graph, capturedFromOuter: false, knowledge, operationContext.ReportDiagnostic, operationContext.CancellationToken);
            },
            OperationKind.MethodBody);
    }

    private static void AnalyzeGraph(ControlFlowGraph graph, bool capturedFromOuter, RecurrentKnowledge knowledge, System.Action<Diagnostic> report, CancellationToken cancellationToken)
    {
        var flow = new StateFlow(graph, capturedFromOuter, knowledge, cancellationToken);
        foreach (var carried in flow.Run())
        {
            report(CreateDiagnostic(carried, graph, knowledge));
        }

        foreach (var localFunction in graph.LocalFunctions)
        {
            AnalyzeGraph(graph.GetLocalFunctionControlFlowGraph(localFunction, cancellationToken), capturedFromOuter: true, knowledge, report, cancellationToken);
        }

        foreach (var lambda in graph.Blocks.SelectMany(b => b.Operations.Concat(b.BranchValue is null ? Enumerable.Empty<IOperation>() : new[] { b.BranchValue }))
                     .SelectMany(o => o.DescendantsAndSelf()).OfType<IFlowAnonymousFunctionOperation>())
        {
            AnalyzeGraph(graph.GetAnonymousFunctionControlFlowGraph(lambda, cancellationToken), capturedFromOuter: true, knowledge, report, cancellationToken);
        }
    }

    private static Diagnostic CreateDiagnostic(CarriedState carried, ControlFlowGraph graph, RecurrentKnowledge knowledge)
    {
        var ordered = carried.Carriers.OrderBy(c => c.Syntax.SpanStart).ToList();
        var names = ordered.Select(c => c.Name).Distinct().ToList();
        var stateName = names.Count == 1 ? names[0] : "(" + string.Join(", ", names) + ")";
        var properties = ImmutableDictionary.CreateBuilder<string, string?>();
        var anchor = FixAnchor(carried, graph, knowledge);
        if (anchor is not null && anchor.Value.Node.SyntaxTree == carried.Origin.Syntax.SyntaxTree)
        {
            properties[InsertModeProperty] = anchor.Value.Mode;
            properties[AnchorStartProperty] = anchor.Value.Node.SpanStart.ToString(System.Globalization.CultureInfo.InvariantCulture);
            properties[AnchorLengthProperty] = anchor.Value.Node.Span.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            properties[CarriersProperty] = string.Join("\n", ordered.Select(c => c.Kind + "|" + c.Syntax.ToString()).Distinct());
        }

        return Diagnostic.Create(
            DiagnosticDescriptors.UnboundedBackpropagationThroughTime,
            carried.Origin.Syntax.GetLocation(),
            properties.ToImmutable(),
            stateName,
            carried.Module);
    }

    /// <summary>
    /// Where the fix can detach without cutting a gradient the current iteration still needs: just after the store when
    /// nothing later in the same loop body reads the carrier, otherwise at the top of the training loop (or method) body,
    /// where the previous iteration's backward() has already run.
    /// </summary>
    private static (SyntaxNode Node, string Mode)? FixAnchor(CarriedState carried, ControlFlowGraph graph, RecurrentKnowledge knowledge)
    {
        var statement = carried.Origin.Syntax.AncestorsAndSelf().OfType<StatementSyntax>().FirstOrDefault();
        var root = graph.OriginalOperation.Syntax;
        var model = graph.OriginalOperation.SemanticModel;
        if (statement is null || model is null)
        {
            return null;
        }

        var loops = statement.Ancestors().TakeWhile(a => a != root).Where(IsLoop).ToList();
        var trainingLoop = loops.FirstOrDefault(loop => knowledge.Trains(model.GetOperation(loop)));
        var innermostLoop = loops.FirstOrDefault();
        if (statement.Parent is BlockSyntax && innermostLoop == trainingLoop && !ReadAfter(statement, trainingLoop ?? root, carried, model))
        {
            return (statement, InsertAfterStatement);
        }

        if (trainingLoop is not null)
        {
            return LoopBody(trainingLoop) is BlockSyntax ? (trainingLoop, InsertAtBodyStart) : null;
        }

        return carried.Carriers.All(c => c.Persistent) && MethodBlock(root) is not null ? (root, InsertAtBodyStart) : null;
    }

    private static bool IsLoop(SyntaxNode node) =>
        node is ForStatementSyntax or ForEachStatementSyntax or ForEachVariableStatementSyntax or WhileStatementSyntax or DoStatementSyntax;

    private static StatementSyntax? LoopBody(SyntaxNode loop) => loop switch
    {
        ForStatementSyntax f => f.Statement,
        CommonForEachStatementSyntax f => f.Statement,
        WhileStatementSyntax w => w.Statement,
        DoStatementSyntax d => d.Statement,
        _ => null,
    };

    private static BlockSyntax? MethodBlock(SyntaxNode node) => node switch
    {
        BaseMethodDeclarationSyntax m => m.Body,
        AccessorDeclarationSyntax a => a.Body,
        LocalFunctionStatementSyntax l => l.Body,
        AnonymousFunctionExpressionSyntax f => f.Block,
        _ => null,
    };

    /// <summary>True when a statement after <paramref name="statement"/>, up to the end of <paramref name="scope"/>'s body, reads a carrier.</summary>
    private static bool ReadAfter(StatementSyntax statement, SyntaxNode scope, CarriedState carried, SemanticModel model)
    {
        var members = new HashSet<ISymbol>(carried.Carriers.Select(c => c.Member), SymbolEqualityComparer.Default);
        for (SyntaxNode? node = statement; node is not null && node != scope; node = node.Parent)
        {
            if (node.Parent is not BlockSyntax block)
            {
                continue;
            }

            foreach (var later in block.Statements.SkipWhile(s => s != node).Skip(1))
            {
                foreach (var name in later.DescendantNodesAndSelf().OfType<SimpleNameSyntax>())
                {
                    var symbol = model.GetSymbolInfo(name).Symbol;
                    if (symbol is not null && members.Contains(symbol))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>A store that carries graph-attached state into a later iteration, and the places it was stored.</summary>
    private sealed class CarriedState
    {
        public CarriedState(IOperation origin, string module)
        {
            Origin = origin;
            Module = module;
        }

        public IOperation Origin { get; }

        public string Module { get; }

        public List<Carrier> Carriers { get; } = new();
    }

    private sealed class Carrier
    {
        public Carrier(string name, ISymbol member, SyntaxNode syntax, string kind, bool persistent)
        {
            Name = name;
            Member = member;
            Syntax = syntax;
            Kind = kind;
            Persistent = persistent;
        }

        public string Name { get; }

        public ISymbol Member { get; }

        public SyntaxNode Syntax { get; }

        public string Kind { get; }

        public bool Persistent { get; }
    }

    /// <summary>A tracked storage place: a local, parameter, field or property (optionally of a local or parameter), or a flow capture.</summary>
    private readonly struct Place : System.IEquatable<Place>
    {
        public Place(ISymbol? root, ISymbol member)
        {
            Root = root;
            Member = member;
            Capture = null;
        }

        public Place(CaptureId capture)
        {
            Root = null;
            Member = null;
            Capture = capture;
        }

        public ISymbol? Root { get; }

        public ISymbol? Member { get; }

        public CaptureId? Capture { get; }

        public bool Equals(Place other) =>
            SymbolEqualityComparer.Default.Equals(Root, other.Root)
            && SymbolEqualityComparer.Default.Equals(Member, other.Member)
            && System.Nullable.Equals(Capture, other.Capture);

        public override bool Equals(object? obj) => obj is Place other && Equals(other);

        public override int GetHashCode()
        {
            unchecked
            {
                var hash = Root is null ? 0 : SymbolEqualityComparer.Default.GetHashCode(Root);
                hash = (hash * 397) ^ (Member is null ? 0 : SymbolEqualityComparer.Default.GetHashCode(Member));
                return (hash * 397) ^ Capture.GetHashCode();
            }
        }
    }

    /// <summary>
    /// A graph-attached state value. <see cref="Parts"/> says which tuple elements of the value are state (-1: the whole value).
    /// <see cref="Origin"/> is the last store into a named place; <see cref="Crossed"/> is set once a backward() has run since.
    /// </summary>
    private sealed class Taint : System.IEquatable<Taint>
    {
        public Taint(IOperation? origin, Carrier? carrier, string module, int parts, bool crossed)
        {
            Origin = origin;
            Carrier = carrier;
            Module = module;
            Parts = parts;
            Crossed = crossed;
        }

        public IOperation? Origin { get; }

        public Carrier? Carrier { get; }

        public string Module { get; }

        public int Parts { get; }

        public bool Crossed { get; }

        public Taint WithCrossed() => Crossed ? this : new Taint(Origin, Carrier, Module, Parts, crossed: true);

        public Taint WithParts(int parts) => parts == Parts ? this : new Taint(Origin, Carrier, Module, parts, Crossed);

        public Taint StoredIn(IOperation origin, Carrier carrier) => new(origin, carrier, Module, Parts, Crossed);

        public bool Equals(Taint? other) =>
            other is not null && ReferenceEquals(Origin, other.Origin) && ReferenceEquals(Carrier, other.Carrier)
            && Module == other.Module && Parts == other.Parts && Crossed == other.Crossed;

        public override bool Equals(object? obj) => Equals(obj as Taint);

        public override int GetHashCode()
        {
            unchecked
            {
                var hash = Origin is null ? 0 : Origin.GetHashCode();
                hash = (hash * 397) ^ (Carrier is null ? 0 : Carrier.GetHashCode());
                hash = (hash * 397) ^ Module.GetHashCode();
                return (hash * 397) ^ (Parts * 2) ^ (Crossed ? 1 : 0);
            }
        }
    }

    private sealed class FlowState
    {
        public static readonly FlowState Empty = new(ImmutableDictionary.Create<Place, ImmutableHashSet<Taint>>());

        public FlowState(ImmutableDictionary<Place, ImmutableHashSet<Taint>> places)
        {
            Places = places;
        }

        public ImmutableDictionary<Place, ImmutableHashSet<Taint>> Places { get; }

        public FlowState Merge(FlowState other)
        {
            var merged = Places;
            foreach (var pair in other.Places)
            {
                merged = merged.SetItem(pair.Key, merged.TryGetValue(pair.Key, out var existing) ? existing.Union(pair.Value) : pair.Value);
            }

            return new FlowState(merged);
        }

        public bool SameAs(FlowState other) =>
            Places.Count == other.Places.Count
            && Places.All(pair => other.Places.TryGetValue(pair.Key, out var taints) && taints.SetEquals(pair.Value));
    }

    /// <summary>The forward may-analysis over one control-flow graph.</summary>
    private sealed class StateFlow
    {
        private readonly ControlFlowGraph graph;
        private readonly bool capturedFromOuter;
        private readonly RecurrentKnowledge knowledge;
        private readonly CancellationToken cancellationToken;
        private readonly Dictionary<IOperation, CarriedState> reports = new();
        private readonly HashSet<ILocalSymbol> ownLocals = new(SymbolEqualityComparer.Default);
        private readonly Dictionary<(ISymbol Member, SyntaxNode Syntax), Carrier> carriers = new();

        // The CFG captures an assignment target (e.g. of `h = c ? a : b` or `h = h?.detach()`) and stores through the capture.
        private readonly Dictionary<CaptureId, IOperation> capturedTargets = new();
        private ImmutableDictionary<Place, ImmutableHashSet<Taint>> places = ImmutableDictionary.Create<Place, ImmutableHashSet<Taint>>();

        public StateFlow(ControlFlowGraph graph, bool capturedFromOuter, RecurrentKnowledge knowledge, CancellationToken cancellationToken)
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

        public List<CarriedState> Run()
        {
            var blocks = graph.Blocks;
            var input = new FlowState?[blocks.Length];
            var worklist = new Queue<int>();
            var queued = new HashSet<int>();
            input[0] = FlowState.Empty;
            worklist.Enqueue(0);
            queued.Add(0);
            bool? callBoundaryTrains = null;
            bool CallBoundaryTrains() => callBoundaryTrains ??= knowledge.Trains(graph.OriginalOperation) || knowledge.CalledWhileTraining(graph.OriginalOperation);

            var handlers = new List<ControlFlowRegion>();
            CollectHandlers(graph.Root, handlers);
            var afterFinally = new Dictionary<int, HashSet<int>>();
            var outputs = new FlowState?[blocks.Length];
            do
            {
                // What is stored at exit in a place that outlives the call is there on entry to the next call.
                while (worklist.Count > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var index = worklist.Dequeue();
                    queued.Remove(index);
                    var block = blocks[index];
                    var output = Transfer(block, input[index] ?? FlowState.Empty);
                    outputs[index] = output;
                    if (block.Kind == BasicBlockKind.Exit)
                    {
                        var persisted = Persisted(output, CallBoundaryTrains);
                        if (persisted.Places.Count > 0)
                        {
                            Propagate(0, persisted);
                        }

                        continue;
                    }

                    foreach (var branch in new[] { block.FallThroughSuccessor, block.ConditionalSuccessor })
                    {
                        if (branch?.Destination is not { } destination)
                        {
                            continue;
                        }

                        // Leaving a try block runs its finally first; the finally's last block passes its state on.
                        if (branch.FinallyRegions.Length > 0)
                        {
                            var finallyRegion = branch.FinallyRegions[0];
                            if (!afterFinally.TryGetValue(finallyRegion.LastBlockOrdinal, out var destinations))
                            {
                                destinations = new HashSet<int>();
                                afterFinally.Add(finallyRegion.LastBlockOrdinal, destinations);
                            }

                            if (destinations.Add(destination.Ordinal) && input[finallyRegion.LastBlockOrdinal] is not null && queued.Add(finallyRegion.LastBlockOrdinal))
                            {
                                worklist.Enqueue(finallyRegion.LastBlockOrdinal);
                            }

                            Propagate(finallyRegion.FirstBlockOrdinal, output);
                        }
                        else
                        {
                            Propagate(destination.Ordinal, output);
                        }
                    }

                    if (afterFinally.TryGetValue(index, out var continuations))
                    {
                        foreach (var continuation in continuations)
                        {
                            Propagate(continuation, output);
                        }
                    }
                }

                // Catch and finally blocks have no ordinary predecessors: an exception reaches them from any point of the try block.
                foreach (var handler in handlers)
                {
                    var tried = handler.EnclosingRegion!.NestedRegions[0];
                    for (var ordinal = tried.FirstBlockOrdinal; ordinal <= tried.LastBlockOrdinal; ordinal++)
                    {
                        foreach (var state in new[] { input[ordinal], outputs[ordinal] })
                        {
                            if (state is not null)
                            {
                                Propagate(handler.FirstBlockOrdinal, state);
                            }
                        }
                    }
                }
            }
            while (worklist.Count > 0);

            return reports.Values.OrderBy(r => r.Origin.Syntax.SpanStart).ToList();

            void Propagate(int target, FlowState state)
            {
                var merged = input[target] is null ? state : input[target]!.Merge(state);
                if (input[target] is null || !merged.SameAs(input[target]!))
                {
                    input[target] = merged;
                    if (queued.Add(target))
                    {
                        worklist.Enqueue(target);
                    }
                }
            }
        }

        private static void CollectHandlers(ControlFlowRegion region, List<ControlFlowRegion> handlers)
        {
            foreach (var nested in region.NestedRegions)
            {
                if (nested.Kind is ControlFlowRegionKind.Finally or ControlFlowRegionKind.FilterAndHandler
                    || (nested.Kind == ControlFlowRegionKind.Catch && region.Kind == ControlFlowRegionKind.TryAndCatch))
                {
                    handlers.Add(nested);
                }

                CollectHandlers(nested, handlers);
            }
        }

        private FlowState Persisted(FlowState exit, System.Func<bool> crossesBackward)
        {
            var persisted = ImmutableDictionary.CreateBuilder<Place, ImmutableHashSet<Taint>>();
            foreach (var pair in exit.Places)
            {
                if (pair.Key.Capture is null && IsPersistent(pair.Key) && !(pair.Key.Root is null && knowledge.ResetElsewhere(pair.Key.Member!, graph.OriginalOperation)))
                {
                    persisted[pair.Key] = crossesBackward() ? pair.Value.Select(t => t.WithCrossed()).ToImmutableHashSet() : pair.Value;
                }
            }

            return new FlowState(persisted.ToImmutable());
        }

        /// <summary>
        /// Places that outlive one call: fields and properties, members of an object passed in, ref parameters, and
        /// (in a local function or lambda) locals captured from the enclosing method.
        /// </summary>
        private bool IsPersistent(Place place)
        {
            var owner = place.Root ?? place.Member;
            return owner switch
            {
                IFieldSymbol or IPropertySymbol => true,
                IParameterSymbol parameter => place.Root is not null || parameter.RefKind is RefKind.Ref or RefKind.Out,
                ILocalSymbol local => capturedFromOuter && !ownLocals.Contains(local),
                _ => false,
            };
        }

        private void CollectLocals(ControlFlowRegion region)
        {
            ownLocals.UnionWith(region.Locals);
            foreach (var nested in region.NestedRegions)
            {
                CollectLocals(nested);
            }
        }

        private FlowState Transfer(BasicBlock block, FlowState state)
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
            var call = knowledge.GetStateCall(invocation);
            if (call is not null)
            {
                foreach (var taint in call.StateArguments.SelectMany(Evaluate))
                {
                    if (taint.Crossed && taint.Origin is not null && taint.Carrier is not null)
                    {
                        if (!reports.TryGetValue(taint.Origin, out var carried))
                        {
                            carried = new CarriedState(taint.Origin, taint.Module);
                            reports.Add(taint.Origin, carried);
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

            if (invocation.Instance is { } instance && ElementsOf(instance) is { } elements)
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
                places = places.ToImmutableDictionary(pair => pair.Key, pair => pair.Value.Select(t => t.WithCrossed()).ToImmutableHashSet());
            }
        }

        /// <summary>An in-place detach (detach_(), or a holder's Detach()) clears the place it is called on and every place rooted there.</summary>
        private void KillRooted(IOperation target)
        {
            target = Strip(target);
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
            if (Strip(target) is IFlowCaptureReferenceOperation reference && capturedTargets.TryGetValue(reference.Id, out var captured))
            {
                target = captured;
            }

            var place = PlaceOf(target);
            if (place is null)
            {
                return;
            }

            if (value.IsEmpty || place.Value.Capture is not null)
            {
                SetPlace(place.Value, value);
                return;
            }

            var carrier = CarrierFor(place.Value, target);
            var scoped = IsIterationScoped(place.Value, origin.Syntax);

            // Copying an already carried state into a local of this iteration does not carry it: the report stays at the store that did.
            SetPlace(place.Value, value.Select(t => scoped && t.Crossed && t.Origin is not null ? t : t.StoredIn(origin, carrier)).ToImmutableHashSet());
        }

        /// <summary>True inside <c>using (no_grad())</c>, or after <c>using var _ = no_grad();</c> in an enclosing block.</summary>
        private bool UnderNoGrad(SyntaxNode node)
        {
            var model = graph.OriginalOperation.SemanticModel;
            if (model is null || node.SyntaxTree != model.SyntaxTree)
            {
                return false;
            }

            foreach (var ancestor in node.Ancestors())
            {
                if (ancestor is UsingStatementSyntax { Expression: { } expression } && DisablesGrad(expression, model)
                    || ancestor is UsingStatementSyntax { Declaration: { } declaration } && declaration.Variables.Any(v => v.Initializer is { } i && DisablesGrad(i.Value, model)))
                {
                    return true;
                }

                if (ancestor is BlockSyntax block)
                {
                    foreach (var statement in block.Statements.TakeWhile(s => !s.Span.Contains(node.Span)))
                    {
                        if (statement is LocalDeclarationStatementSyntax { UsingKeyword.RawKind: > 0 } local
                            && local.Declaration.Variables.Any(v => v.Initializer is { } i && DisablesGrad(i.Value, model)))
                        {
                            return true;
                        }
                    }
                }

                if (ancestor == graph.OriginalOperation.Syntax)
                {
                    break;
                }
            }

            return false;
        }

        private bool DisablesGrad(ExpressionSyntax expression, SemanticModel model) =>
            model.GetSymbolInfo(expression, cancellationToken).Symbol is IMethodSymbol { Name: "no_grad" or "inference_mode" } method
            && SymbolEqualityComparer.Default.Equals(method.ContainingType, knowledge.Symbols.Torch);

        /// <summary>A local of this function declared inside the innermost loop around <paramref name="store"/> (or anywhere, outside loops).</summary>
        private bool IsIterationScoped(Place place, SyntaxNode store)
        {
            if (place.Root is not null || place.Member is not ILocalSymbol local || !ownLocals.Contains(local))
            {
                return false;
            }

            var root = graph.OriginalOperation.Syntax;
            var loop = store.Ancestors().TakeWhile(a => a != root).FirstOrDefault(IsLoop);
            return loop is null || local.DeclaringSyntaxReferences.Any(r => loop.Span.Contains(r.Span));
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
                var part = Part(value, i);
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

        private static ImmutableHashSet<Taint> Part(ImmutableHashSet<Taint> value, int index) =>
            value.Where(t => t.Parts == -1 || (t.Parts & (1 << index)) != 0).Select(t => t.WithParts(-1)).ToImmutableHashSet();

        private Carrier CarrierFor(Place place, IOperation target)
        {
            var member = place.Member!;
            var key = (member, target.Syntax);
            if (!carriers.TryGetValue(key, out var carrier))
            {
                carrier = new Carrier(member.Name, member, target.Syntax, KindOf(SymbolEqualityComparer.Default.Equals(place.Root, member) ? null : member, target.Type), IsPersistent(place));
                carriers.Add(key, carrier);
            }

            return carrier;
        }

        private string KindOf(ISymbol? member, ITypeSymbol? referenceType)
        {
            var type = member switch
            {
                ILocalSymbol local => local.Type,
                IParameterSymbol parameter => parameter.Type,
                IFieldSymbol field => field.Type,
                IPropertySymbol property => property.Type,
                _ => referenceType,
            };

            if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
            {
                return nullable.TypeArguments[0] is INamedTypeSymbol { IsTupleType: true } inner ? NullableTupleKind + Arity(inner) : NullableTensorKind;
            }

            if (type is INamedTypeSymbol { IsTupleType: true } tuple)
            {
                return TupleKind + Arity(tuple);
            }

            return type?.NullableAnnotation == NullableAnnotation.NotAnnotated || (member is ILocalSymbol declared && InitializedNonNullWithVar(declared))
                ? TensorKind
                : NullableTensorKind;
        }

        private static string Arity(INamedTypeSymbol tuple) => tuple.TupleElements.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>A <c>var</c> local is declared nullable; it is non-null when its initializer is (<c>var h = zeros(...)</c>).</summary>
        private bool InitializedNonNullWithVar(ILocalSymbol local)
        {
            var model = graph.OriginalOperation.SemanticModel;
            foreach (var reference in local.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(cancellationToken) is VariableDeclaratorSyntax { Initializer.Value: { } value, Parent: VariableDeclarationSyntax { Type.IsVar: true } }
                    && model is not null && value.SyntaxTree == model.SyntaxTree)
                {
                    return model.GetTypeInfo(value, cancellationToken).Nullability.FlowState == NullableFlowState.NotNull;
                }
            }

            return false;
        }

        private void SetPlace(Place place, ImmutableHashSet<Taint> value) =>
            places = value.IsEmpty ? places.Remove(place) : places.SetItem(place, value);

        // Conversions and parentheses as TrainingSteps.Unwrap strips them, plus `var (y, h) = …` declarations.
        private static IOperation Strip(IOperation operation)
        {
            operation = operation.WithoutConversions();
            while (operation is IDeclarationExpressionOperation declaration)
            {
                operation = declaration.Expression.WithoutConversions();
            }

            return operation;
        }

        private Place? PlaceOf(IOperation operation)
        {
            switch (Strip(operation))
            {
                case ILocalReferenceOperation local:
                    return new Place(null, local.Local);
                case IParameterReferenceOperation parameter:
                    return new Place(null, parameter.Parameter);
                case IFlowCaptureReferenceOperation capture:
                    return new Place(capture.Id);
                case IFieldReferenceOperation field when !field.Field.ContainingType.IsTupleType:
                    return MemberPlace(field.Instance, field.Field);
                case IPropertyReferenceOperation property when property.Arguments.IsEmpty:
                    return MemberPlace(property.Instance, property.Property);
                case IPropertyReferenceOperation { Property.IsIndexer: true, Instance: { } collection }:
                    return ElementsOf(collection);
                case IArrayElementReferenceOperation element:
                    return ElementsOf(element.ArrayReference);
                default:
                    return null;
            }
        }

        /// <summary>
        /// The elements of a collection held in a field, property, local or parameter (<c>states[session]</c>), tracked as
        /// one place keyed by the collection. A tensor's own indexer selects values, it does not hold states.
        /// </summary>
        private Place? ElementsOf(IOperation collection)
        {
            collection = Strip(collection);
            if (knowledge.Symbols.IsTensor(collection.Type))
            {
                return null;
            }

            ISymbol? holder = collection switch
            {
                IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } field => field.Field,
                IPropertyReferenceOperation { Instance: null or IInstanceReferenceOperation, Arguments.IsEmpty: true } property => property.Property,
                ILocalReferenceOperation local => local.Local,
                IParameterReferenceOperation parameter => parameter.Parameter,
                _ => null,
            };
            return holder is null ? null : new Place(holder, holder);
        }

        private static Place? MemberPlace(IOperation? instance, ISymbol member)
        {
            switch (instance is null ? null : Strip(instance))
            {
                case null:
                case IInstanceReferenceOperation:
                    return new Place(null, member);
                case ILocalReferenceOperation local:
                    return new Place(local.Local, member);
                case IParameterReferenceOperation parameter:
                    return new Place(parameter.Parameter, member);
                case IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } field:
                    return new Place(field.Field, member);
                default:
                    return null;
            }
        }

        /// <summary>The state taints a value carries; empty when it holds no graph-attached recurrent state.</summary>
        private ImmutableHashSet<Taint> Evaluate(IOperation operation)
        {
            operation = Strip(operation);
            var place = PlaceOf(operation);
            if (place is not null)
            {
                return places.TryGetValue(place.Value, out var stored) ? stored : ImmutableHashSet<Taint>.Empty;
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
                    var index = TupleIndex(field.Field);
                    return index < 0 ? ImmutableHashSet<Taint>.Empty : Part(Evaluate(instance), index);
                case IPropertyReferenceOperation { Instance: { } instance, Property.Name: "Value" } property
                    when property.Property.ContainingType.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T:
                    return Evaluate(instance);
                case IInvocationOperation invocation:
                    return EvaluateInvocation(invocation);
                default:
                    return ImmutableHashSet<Taint>.Empty;
            }
        }

        private static int TupleIndex(IFieldSymbol field)
        {
            var element = field.CorrespondingTupleField ?? field;
            return element.Name.StartsWith("Item", System.StringComparison.Ordinal) && int.TryParse(element.Name.Substring(4), out var n) ? n - 1 : -1;
        }

        private ImmutableHashSet<Taint> EvaluateInvocation(IInvocationOperation invocation)
        {
            var call = knowledge.GetStateCall(invocation);
            if (call is not null)
            {
                // Under no_grad() or inference_mode() the returned state has no history to carry.
                return UnderNoGrad(invocation.Syntax)
                    ? ImmutableHashSet<Taint>.Empty
                    : ImmutableHashSet.Create(new Taint(null, null, call.Module, call.StateParts, crossed: false));
            }

            if (knowledge.IsDetaching(invocation))
            {
                return ImmutableHashSet<Taint>.Empty;
            }

            // A collection's method that returns an element (GetValueOrDefault, First, ...) hands out what the collection holds.
            if (invocation.Instance is { } collection && ElementsOf(collection) is { } elements && places.TryGetValue(elements, out var held) && knowledge.Symbols.IsTensor(invocation.Type))
            {
                return held;
            }

            // A Tensor method on a graph-attached tensor stays attached: DetachFromDisposeScope, MoveToOuterDisposeScope, to(), contiguous().
            if (invocation.Instance is { } instance && knowledge.Symbols.IsTensor(invocation.TargetMethod.ContainingType) && knowledge.Symbols.IsTensor(invocation.Type))
            {
                return Evaluate(instance);
            }

            // A source helper that neither detaches nor builds state hands a state argument back attached (e.g. a helper that only moves scopes).
            if (invocation.TargetMethod.DeclaringSyntaxReferences.Length > 0 && (knowledge.Symbols.IsTensor(invocation.Type) || invocation.Type?.IsTupleType == true || invocation.Type?.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T))
            {
                return invocation.Arguments.SelectMany(a => Evaluate(a.Value)).Select(t => t.WithParts(-1)).ToImmutableHashSet();
            }

            return ImmutableHashSet<Taint>.Empty;
        }
    }

    /// <summary>A call that takes a recurrent state and returns one.</summary>
    private sealed class StateCall
    {
        public StateCall(ImmutableArray<IOperation> stateArguments, int stateParts, string module)
        {
            StateArguments = stateArguments;
            StateParts = stateParts;
            Module = module;
        }

        public ImmutableArray<IOperation> StateArguments { get; }

        /// <summary>Which elements of the returned tuple are state; -1 when the whole result is the state.</summary>
        public int StateParts { get; }

        public string Module { get; }
    }

    /// <summary>What a source method does with recurrent state: which parameters it feeds in as state, which parts of its result are state.</summary>
    private readonly struct StateSummary
    {
        public StateSummary(int stateParameters, int stateParts)
        {
            StateParameters = stateParameters;
            StateParts = stateParts;
        }

        public int StateParameters { get; }

        public int StateParts { get; }

        public bool PassesState => StateParameters != 0 && StateParts != 0;
    }

    /// <summary>Recognises recurrent calls, detaches and backward() — by symbol, through source helpers.</summary>
    private sealed class RecurrentKnowledge
    {
        private const int MaxSummaryDepth = 2;

        private readonly TrainingProgram bodies;
        private readonly TrainingCallees trainingCallees;
        private readonly GradientDiagnosticsOptions options;
        private readonly CancellationToken cancellationToken;
        private readonly Dictionary<IMethodSymbol, StateSummary> summaries = new(SymbolEqualityComparer.Default);

        public RecurrentKnowledge(TorchSharpSymbols symbols, TrainingProgram bodies, TrainingCallees trainingCallees, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
        {
            Symbols = symbols;
            this.bodies = bodies;
            this.trainingCallees = trainingCallees;
            this.options = options;
            this.cancellationToken = cancellationToken;
        }

        public TorchSharpSymbols Symbols { get; }

        public bool Trains(IOperation? operation) =>
            operation is not null && bodies.Reach.OperationReaches(operation, i => Symbols.IsBackward(i.TargetMethod), cancellationToken);

        /// <summary>True when the method owning <paramref name="body"/> is called (or, for a module's forward, invoked through call()) from code that runs backward().</summary>
        public bool CalledWhileTraining(IOperation body)
        {
            var owner = body.SemanticModel?.GetDeclaredSymbol(body.Syntax, cancellationToken) as IMethodSymbol;
            return owner is not null && trainingCallees.Contains(owner, cancellationToken);
        }

        /// <summary>
        /// True when another method of the member's type (not a constructor) detaches or resets it — a stateful module's
        /// <c>DetachState()</c> or <c>ResetState()</c> — and training code calls that method once per call of the method
        /// that carries the state (in the same loop iteration, not once per epoch).
        /// </summary>
        public bool ResetElsewhere(ISymbol member, IOperation currentBody)
        {
            if (currentBody.SemanticModel?.GetDeclaredSymbol(currentBody.Syntax, cancellationToken) is not IMethodSymbol current)
            {
                return false;
            }

            var carrierSites = trainingCallees.CallSites(current, cancellationToken);
            foreach (var method in member.ContainingType.GetMembers().OfType<IMethodSymbol>())
            {
                if (method.MethodKind is MethodKind.Constructor or MethodKind.StaticConstructor
                    || SymbolEqualityComparer.Default.Equals(method.OriginalDefinition, current.OriginalDefinition)
                    || !Resets(method, member))
                {
                    continue;
                }

                foreach (var reset in trainingCallees.CallSites(method, cancellationToken))
                {
                    var resetLoop = InnermostLoop(reset);
                    if (carrierSites.Any(site => SameBody(site, reset) && InnermostLoop(site) == resetLoop))
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        private bool Resets(IMethodSymbol method, ISymbol member)
        {
            foreach (var body in bodies.Bodies.Of(method, cancellationToken))
            {
                foreach (var operation in body.Descendants())
                {
                    var written = operation switch
                    {
                        ISimpleAssignmentOperation assignment when IsFreshState(assignment.Value) => assignment.Target,
                        IInvocationOperation invocation when Symbols.IsDetach(invocation.TargetMethod) => invocation.Instance,
                        _ => null,
                    };
                    if (written is IMemberReferenceOperation { Instance: null or IInstanceReferenceOperation } reference
                        && SymbolEqualityComparer.Default.Equals(reference.Member, member))
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        private static ILoopOperation? InnermostLoop(IOperation operation)
        {
            for (var current = operation.Parent; current is not null; current = current.Parent)
            {
                if (current is ILoopOperation loop)
                {
                    return loop;
                }
            }

            return null;
        }

        private static bool SameBody(IOperation a, IOperation b) => Root(a) == Root(b);

        private static IOperation Root(IOperation operation)
        {
            while (operation.Parent is not null)
            {
                operation = operation.Parent;
            }

            return operation;
        }

        /// <summary>A value with no history: null, a detach, a new tensor from a <c>torch</c> factory, or a tuple of those.</summary>
        private bool IsFreshState(IOperation value)
        {
            value = StripConversions(value);
            return value switch
            {
                ILiteralOperation or IDefaultValueOperation or IObjectCreationOperation => true,
                IConditionalAccessOperation access => IsFreshState(access.WhenNotNull),
                ITupleOperation tuple => tuple.Elements.All(IsFreshState),
                IInvocationOperation invocation => IsDetaching(invocation) || (invocation.Instance is null && Same(invocation.TargetMethod.ContainingType, Symbols.Torch)),
                _ => false,
            };
        }

        public bool RunsBackward(IInvocationOperation invocation) =>
            Symbols.IsBackward(invocation.TargetMethod)
            || (invocation.TargetMethod.DeclaringSyntaxReferences.Length > 0
                && bodies.Reach.Reaches(invocation.TargetMethod, ReachGoal.Backward, options, i => Symbols.IsBackward(i.TargetMethod), cancellationToken));

        /// <summary>
        /// What an invocation detaches in place: the tensor of <c>detach_()</c>; the receiver and arguments of a configured
        /// detach method; the object a source method that detaches is called on or handed (a state holder's Detach()), and
        /// a tensor argument only when that method detaches in place. A discarded <c>h.detach()</c> detaches nothing.
        /// </summary>
        public IEnumerable<IOperation> DetachedInPlace(IInvocationOperation invocation)
        {
            var method = invocation.TargetMethod;
            if (Symbols.IsDetach(method))
            {
                return method.Name == "detach_" && invocation.Instance is { } tensor ? new[] { tensor } : Enumerable.Empty<IOperation>();
            }

            if (GradientDiagnosticsOptions.Matches(method, options.DetachMethods))
            {
                return invocation.Arguments.Select(a => a.Value).Concat(invocation.Instance is null ? Enumerable.Empty<IOperation>() : new[] { invocation.Instance });
            }

            if (method.DeclaringSyntaxReferences.Length == 0 || !IsDetaching(invocation))
            {
                return Enumerable.Empty<IOperation>();
            }

            var inPlace = bodies.Reach.Reaches(method, ReachGoal.InPlaceDetaching, options, i => i.TargetMethod.Name == "detach_" && Symbols.IsDetach(i.TargetMethod), cancellationToken);
            var targets = invocation.Arguments.Select(a => a.Value).Where(v => inPlace || IsStateHolder(v.Type)).ToList();
            if (invocation.Instance is { } receiver && (receiver is IInstanceReferenceOperation || IsStateHolder(receiver.Type)))
            {
                targets.Add(receiver);
            }

            return targets;
        }

        /// <summary>An object whose members a helper can detach (a tensor or a tuple is replaced, not changed, by detach()).</summary>
        private bool IsStateHolder(ITypeSymbol? type) => type is { IsReferenceType: true } && !Symbols.IsTensor(type);

        public bool IsDetaching(IInvocationOperation invocation) =>
            IsDetachMethod(invocation.TargetMethod)
            || (invocation.TargetMethod.DeclaringSyntaxReferences.Length > 0
                && bodies.Reach.Reaches(invocation.TargetMethod, ReachGoal.Detaching, options, i => IsDetachMethod(i.TargetMethod), cancellationToken));

        private bool IsDetachMethod(IMethodSymbol method) =>
            Symbols.IsDetach(method) || GradientDiagnosticsOptions.Matches(method, options.DetachMethods);

        public StateCall? GetStateCall(IInvocationOperation invocation) => GetStateCall(invocation, MaxSummaryDepth);

        private StateCall? GetStateCall(IInvocationOperation invocation, int depth)
        {
            var method = invocation.TargetMethod;
            var receiverType = invocation.Instance?.Type;
            if ((method.Name == "call" || method.Name == "forward") && Symbols.IsRecurrentModule(receiverType))
            {
                var state = invocation.Arguments.Where(a => a.Parameter?.Ordinal == 1 && a.ArgumentKind != ArgumentKind.DefaultValue).Select(a => a.Value).ToImmutableArray();
                return new StateCall(state, RecurrentStateParts(receiverType!), ModuleName(invocation));
            }

            if (depth <= 0)
            {
                return null;
            }

            var target = method.Name == "call" && Symbols.IsModule(receiverType) ? FindSourceForward(receiverType, method.Parameters.Length) : method;
            // Only a method that takes and returns tensors can pass a recurrent state through.
            if (target is null || target.DeclaringSyntaxReferences.Length == 0 || !HoldsTensors(target.ReturnType) || !target.Parameters.Any(p => HoldsTensors(p.Type)))
            {
                return null;
            }

            var summary = Summarize(target, depth);
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

        private bool HoldsTensors(ITypeSymbol type) => type switch
        {
            INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable => HoldsTensors(nullable.TypeArguments[0]),
            INamedTypeSymbol { IsTupleType: true } tuple => tuple.TupleElements.Any(e => HoldsTensors(e.Type)),
            _ => Symbols.IsTensor(type),
        };

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

                if (Same(definition, Symbols.RnnCell) || Same(definition, Symbols.GruCell))
                {
                    return -1;
                }
            }

            return -1;
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

        internal static IEnumerable<IMethodSymbol> SourceForwards(ITypeSymbol type)
        {
            for (var current = type as INamedTypeSymbol; current is not null; current = current.BaseType)
            {
                foreach (var member in current.GetMembers("forward").OfType<IMethodSymbol>())
                {
                    if (member.DeclaringSyntaxReferences.Length > 0)
                    {
                        yield return member;
                    }
                }
            }
        }

        private static IMethodSymbol? FindSourceForward(ITypeSymbol? type, int parameterCount) =>
            type is null ? null : SourceForwards(type).FirstOrDefault(m => m.Parameters.Length == parameterCount);

        /// <summary>
        /// Flow-insensitive summary of a source method: parameters that reach a recurrent call's state argument, and the
        /// returned tuple elements that hold a recurrent call's returned state.
        /// </summary>
        private StateSummary Summarize(IMethodSymbol method, int depth)
        {
            if (summaries.TryGetValue(method.OriginalDefinition, out var cached))
            {
                return cached;
            }

            // Recursion guard: a method under summary passes no state until proven otherwise.
            summaries[method.OriginalDefinition] = default;

            var parameterBits = 0;
            var parts = 0;
            foreach (var body in bodies.Bodies.Of(method, cancellationToken))
            {
                var operations = body.DescendantsAndSelf().ToList();
                var fromParameters = new Dictionary<ISymbol, int>(SymbolEqualityComparer.Default);
                var stateLocals = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
                var changed = true;
                while (changed)
                {
                    changed = false;
                    foreach (var operation in operations)
                    {
                        foreach (var (target, value, isState) in Stores(operation))
                        {
                            if (target is null)
                            {
                                continue;
                            }

                            var bits = isState ? 0 : ParameterBits(value, fromParameters);
                            if (bits != 0 && (!fromParameters.TryGetValue(target, out var known) || (known | bits) != known))
                            {
                                fromParameters[target] = (fromParameters.TryGetValue(target, out known) ? known : 0) | bits;
                                changed = true;
                            }

                            if (!stateLocals.Contains(target) && (isState || HoldsState(value, stateLocals, depth)))
                            {
                                stateLocals.Add(target);
                                changed = true;
                            }
                        }
                    }
                }

                foreach (var invocation in operations.OfType<IInvocationOperation>())
                {
                    var inner = GetStateCall(invocation, depth - 1);
                    if (inner is not null)
                    {
                        foreach (var argument in inner.StateArguments)
                        {
                            parameterBits |= ParameterBits(argument, fromParameters);
                        }
                    }
                }

                foreach (var returned in operations.OfType<IReturnOperation>())
                {
                    if (returned.ReturnedValue is { } value)
                    {
                        parts |= ReturnedStateParts(value, stateLocals, depth);
                    }
                }
            }

            var summary = new StateSummary(parameterBits, parts);
            summaries[method.OriginalDefinition] = summary;
            return summary;
        }

        private int ReturnedStateParts(IOperation value, HashSet<ISymbol> stateLocals, int depth)
        {
            value = StripConversions(value);
            if (value is ITupleOperation tuple)
            {
                var bits = 0;
                for (var i = 0; i < tuple.Elements.Length && i < 31; i++)
                {
                    if (HoldsState(tuple.Elements[i], stateLocals, depth))
                    {
                        bits |= 1 << i;
                    }
                }

                return bits;
            }

            if (value is IInvocationOperation invocation && GetStateCall(invocation, depth - 1) is { } call)
            {
                return call.StateParts;
            }

            return HoldsState(value, stateLocals, depth) ? -1 : 0;
        }

        private bool HoldsState(IOperation value, HashSet<ISymbol> stateLocals, int depth)
        {
            value = StripConversions(value);
            switch (value)
            {
                case ILocalReferenceOperation local:
                    return stateLocals.Contains(local.Local);
                case ITupleOperation tuple:
                    return tuple.Elements.Any(e => HoldsState(e, stateLocals, depth));
                case IInvocationOperation invocation when GetStateCall(invocation, depth - 1) is { } call:
                    return call.StateParts == -1;
                case IInvocationOperation invocation when IsDetaching(invocation):
                    return false;
                case IInvocationOperation { Instance: { } instance } invocation when Symbols.IsTensor(invocation.Type):
                    return HoldsState(instance, stateLocals, depth);
                case IFieldReferenceOperation { Instance: { } instance } field when field.Field.ContainingType.IsTupleType:
                    return TupleElementHoldsState(instance, field.Field, stateLocals, depth);
                default:
                    return false;
            }
        }

        private bool TupleElementHoldsState(IOperation instance, IFieldSymbol field, HashSet<ISymbol> stateLocals, int depth)
        {
            instance = StripConversions(instance);
            var element = field.CorrespondingTupleField ?? field;
            if (instance is IInvocationOperation invocation && GetStateCall(invocation, depth - 1) is { } call
                && element.Name.StartsWith("Item", System.StringComparison.Ordinal) && int.TryParse(element.Name.Substring(4), out var n))
            {
                return call.StateParts == -1 || (call.StateParts & (1 << (n - 1))) != 0;
            }

            return HoldsState(instance, stateLocals, depth);
        }

        /// <summary>The (target symbol, value) pairs an operation stores, with deconstructions split per element.</summary>
        private IEnumerable<(ISymbol? Target, IOperation Value, bool IsState)> Stores(IOperation operation)
        {
            switch (operation)
            {
                case ISimpleAssignmentOperation assignment:
                    yield return (SymbolOf(assignment.Target), assignment.Value, false);
                    break;
                case IVariableDeclaratorOperation { Initializer: { } initializer } declarator:
                    yield return (declarator.Symbol, initializer.Value, false);
                    break;
                case IDeconstructionAssignmentOperation deconstruction:
                    var target = deconstruction.Target is IDeclarationExpressionOperation declaration ? declaration.Expression : deconstruction.Target;
                    if (target is ITupleOperation tuple)
                    {
                        var value = StripConversions(deconstruction.Value);
                        var call = value is IInvocationOperation invocation ? GetStateCall(invocation, MaxSummaryDepth - 1) : null;
                        for (var i = 0; i < tuple.Elements.Length; i++)
                        {
                            var elementSymbol = SymbolOf(tuple.Elements[i]);
                            if (value is ITupleOperation literal && i < literal.Elements.Length)
                            {
                                yield return (elementSymbol, literal.Elements[i], false);
                            }
                            else if (call is not null && (call.StateParts == -1 || (call.StateParts & (1 << i)) != 0))
                            {
                                yield return (elementSymbol, value, true);
                            }
                            else
                            {
                                yield return (elementSymbol, value, false);
                            }
                        }
                    }

                    break;
            }
        }

        private static ISymbol? SymbolOf(IOperation operation) => StripConversions(operation) switch
        {
            ILocalReferenceOperation local => local.Local,
            IDeclarationExpressionOperation { Expression: ILocalReferenceOperation local } => local.Local,
            _ => null,
        };

        private static int ParameterBits(IOperation value, Dictionary<ISymbol, int> fromParameters)
        {
            var bits = 0;
            foreach (var reference in value.DescendantsAndSelf())
            {
                if (reference is IParameterReferenceOperation parameter && parameter.Parameter.Ordinal < 31)
                {
                    bits |= 1 << parameter.Parameter.Ordinal;
                }
                else if (reference is ILocalReferenceOperation local && fromParameters.TryGetValue(local.Local, out var known))
                {
                    bits |= known;
                }
            }

            return bits;
        }

        private static IOperation StripConversions(IOperation operation)
        {
            while (operation is IConversionOperation conversion)
            {
                operation = conversion.Operand;
            }

            return operation;
        }
    }

    /// <summary>
    /// The source methods called from code that runs backward(), found once per compilation and only when asked: a field
    /// or property that holds state between calls of a method is carried across training iterations when a training loop
    /// calls that method (a module's forward counts when the loop calls the module).
    /// </summary>
    private sealed class TrainingCallees
    {
        private readonly Compilation compilation;
        private readonly TorchSharpSymbols symbols;
        private readonly TrainingProgram bodies;
        private readonly object gate = new();
        private Dictionary<IMethodSymbol, List<IInvocationOperation>>? callSites;

        public TrainingCallees(Compilation compilation, TorchSharpSymbols symbols, TrainingProgram bodies)
        {
            this.compilation = compilation;
            this.symbols = symbols;
            this.bodies = bodies;
        }

        public bool Contains(IMethodSymbol method, CancellationToken cancellationToken) => CallSites(method, cancellationToken).Count > 0;

        /// <summary>The invocations of <paramref name="method"/> in code that runs backward(); a module's forward is invoked through call().</summary>
        public IReadOnlyList<IInvocationOperation> CallSites(IMethodSymbol method, CancellationToken cancellationToken)
        {
            lock (gate)
            {
                callSites ??= Collect(cancellationToken);
                return callSites.TryGetValue(method.OriginalDefinition, out var sites) ? sites : (IReadOnlyList<IInvocationOperation>)System.Array.Empty<IInvocationOperation>();
            }
        }

        private Dictionary<IMethodSymbol, List<IInvocationOperation>> Collect(CancellationToken cancellationToken)
        {
            var found = new Dictionary<IMethodSymbol, List<IInvocationOperation>>(SymbolEqualityComparer.Default);
            foreach (var tree in compilation.SyntaxTrees)
            {
#pragma warning disable RS1030 // The whole compilation is scanned once, lazily, to find which methods training loops call.
                var model = compilation.GetSemanticModel(tree);
#pragma warning restore RS1030
                var root = tree.GetRoot(cancellationToken);
                foreach (var node in root.DescendantNodes().Where(n => n is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax))
                {
                    AddBody(model.GetOperation(node, cancellationToken));
                }

                foreach (var statement in root.ChildNodes().OfType<GlobalStatementSyntax>())
                {
                    AddBody(model.GetOperation(statement.Statement, cancellationToken));
                }
            }

            return found;

            void AddBody(IOperation? body)
            {
                if (body is null || !bodies.Reach.OperationReaches(body, i => symbols.IsBackward(i.TargetMethod), cancellationToken))
                {
                    return;
                }

                foreach (var invocation in body.DescendantsAndSelf().OfType<IInvocationOperation>())
                {
                    Add(invocation.TargetMethod, invocation);
                    if ((invocation.TargetMethod.Name == "call" || invocation.TargetMethod.Name == "forward") && invocation.Instance?.Type is { } receiver && symbols.IsModule(receiver))
                    {
                        foreach (var forward in RecurrentKnowledge.SourceForwards(receiver))
                        {
                            Add(forward, invocation);
                        }
                    }
                }
            }

            void Add(IMethodSymbol method, IInvocationOperation invocation)
            {
                if (!found.TryGetValue(method.OriginalDefinition, out var sites))
                {
                    sites = new List<IInvocationOperation>();
                    found.Add(method.OriginalDefinition, sites);
                }

                sites.Add(invocation);
            }
        }
    }
}
