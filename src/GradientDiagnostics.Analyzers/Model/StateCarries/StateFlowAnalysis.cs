using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The forward may-analysis of one control-flow graph: a worklist over basic blocks that joins <see cref="FlowState"/>s
/// until nothing changes, with exceptional edges into catch and finally blocks, and — for places that outlive the call —
/// an edge from the exit back to the entry, since the next call of the method starts with what this one stored.
/// </summary>
internal sealed class StateFlowAnalysis
{
    private readonly ControlFlowGraph graph;
    private readonly StateKnowledge knowledge;
    private readonly StateTransfer transfer;
    private readonly CancellationToken cancellationToken;
    private readonly FlowState?[] input;
    private readonly FlowState?[] output;
    private readonly Queue<int> worklist = new();
    private readonly HashSet<int> queued = new();
    private bool? callBoundaryTrains;

    private StateFlowAnalysis(ControlFlowGraph graph, bool capturedFromOuter, StateKnowledge knowledge, CancellationToken cancellationToken)
    {
        this.graph = graph;
        this.knowledge = knowledge;
        this.cancellationToken = cancellationToken;
        transfer = new StateTransfer(graph, capturedFromOuter, knowledge, cancellationToken);
        input = new FlowState?[graph.Blocks.Length];
        output = new FlowState?[graph.Blocks.Length];
    }

    /// <summary>The stores in the graph (and in its local functions and lambdas) whose state is fed back after a backward().</summary>
    public static IEnumerable<(CarriedState State, ControlFlowGraph Graph)> Run(ControlFlowGraph graph, bool capturedFromOuter, StateKnowledge knowledge, CancellationToken cancellationToken)
    {
        var analysis = new StateFlowAnalysis(graph, capturedFromOuter, knowledge, cancellationToken);
        analysis.Solve();
        foreach (var carried in analysis.transfer.Reports)
        {
            yield return (carried, graph);
        }

        foreach (var localFunction in graph.LocalFunctions)
        {
            foreach (var nested in Run(graph.GetLocalFunctionControlFlowGraph(localFunction, cancellationToken), capturedFromOuter: true, knowledge, cancellationToken))
            {
                yield return nested;
            }
        }

        foreach (var lambda in graph.Blocks
            .SelectMany(b => b.BranchValue is null ? b.Operations : b.Operations.Add(b.BranchValue))
            .SelectMany(o => o.DescendantsAndSelf()).OfType<IFlowAnonymousFunctionOperation>())
        {
            foreach (var nested in Run(graph.GetAnonymousFunctionControlFlowGraph(lambda, cancellationToken), capturedFromOuter: true, knowledge, cancellationToken))
            {
                yield return nested;
            }
        }
    }

    private void Solve()
    {
        var blocks = graph.Blocks;
        var handlers = new List<ControlFlowRegion>();
        CollectHandlers(graph.Root, handlers);
        var afterFinally = new Dictionary<int, HashSet<int>>();
        Propagate(0, FlowState.Empty);
        do
        {
            while (worklist.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var index = worklist.Dequeue();
                queued.Remove(index);
                var block = blocks[index];
                var state = transfer.Transfer(block, input[index] ?? FlowState.Empty);
                output[index] = state;
                if (block.Kind == BasicBlockKind.Exit)
                {
                    // What is stored at exit in a place that outlives the call is there on entry to the next call.
                    var persisted = Persisted(state);
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
                            afterFinally.Add(finallyRegion.LastBlockOrdinal, destinations = new HashSet<int>());
                        }

                        if (destinations.Add(destination.Ordinal) && input[finallyRegion.LastBlockOrdinal] is not null && queued.Add(finallyRegion.LastBlockOrdinal))
                        {
                            worklist.Enqueue(finallyRegion.LastBlockOrdinal);
                        }

                        Propagate(finallyRegion.FirstBlockOrdinal, state);
                    }
                    else
                    {
                        Propagate(destination.Ordinal, state);
                    }
                }

                if (afterFinally.TryGetValue(index, out var continuations))
                {
                    foreach (var continuation in continuations)
                    {
                        Propagate(continuation, state);
                    }
                }
            }

            // Catch and finally blocks have no ordinary predecessors: an exception reaches them from any point of the try block.
            foreach (var handler in handlers)
            {
                var tried = handler.EnclosingRegion!.NestedRegions[0];
                for (var ordinal = tried.FirstBlockOrdinal; ordinal <= tried.LastBlockOrdinal; ordinal++)
                {
                    foreach (var state in new[] { input[ordinal], output[ordinal] })
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
    }

    private void Propagate(int target, FlowState state)
    {
        var merged = input[target] is null ? state : input[target]!.Join(state);
        if (input[target] is null || !merged.SameAs(input[target]!))
        {
            input[target] = merged;
            if (queued.Add(target))
            {
                worklist.Enqueue(target);
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

    /// <summary>
    /// The places that keep their state into the next call, aged across a backward() when training code calls the
    /// method (or it trains itself) — unless another method of the type resets them once per such call.
    /// </summary>
    private FlowState Persisted(FlowState exit)
    {
        var persisted = ImmutableDictionary.CreateBuilder<Place, ImmutableHashSet<Taint>>();
        foreach (var pair in exit.Places)
        {
            if (pair.Key.Capture is null && transfer.IsPersistent(pair.Key) && !(pair.Key.Root is null && knowledge.ResetElsewhere(pair.Key.Member!, graph.OriginalOperation)))
            {
                persisted[pair.Key] = CallBoundaryTrains() ? pair.Value.Select(t => t.AfterBackward()).ToImmutableHashSet() : pair.Value;
            }
        }

        return new FlowState(persisted.ToImmutable());
    }

    private bool CallBoundaryTrains() =>
        callBoundaryTrains ??= knowledge.Trains(graph.OriginalOperation) || knowledge.CalledWhileTraining(graph.OriginalOperation);
}
