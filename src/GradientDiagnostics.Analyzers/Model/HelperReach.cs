using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>What a call into source is asked to reach, directly or through the helpers it calls.</summary>
internal enum ReachGoal
{
    Backward,
    Clipping,
    GradientClearing,
    Detaching,
    InPlaceDetaching,
}

/// <summary>
/// The call graph of source helpers, walked on demand: does calling a method reach an invocation of a kind, up to a few
/// calls deep. Answers are cached per compilation by (method, goal, options in effect): a goal whose meaning depends on
/// an option (clipping_methods, detach_methods) can never share an answer across folders whose values differ.
/// </summary>
internal sealed class HelperReach
{
    /// <summary>How many calls deep helpers are followed.</summary>
    public const int DefaultMaxDepth = 4;

    private readonly SourceBodies bodies;
    private readonly SourceSearch search;
    private readonly ConcurrentDictionary<CacheKey, bool> answers = new();

    public HelperReach(SourceBodies bodies, SourceSearch search)
    {
        this.bodies = bodies;
        this.search = search;
    }

    /// <summary>
    /// True when <paramref name="method"/>'s body, or a source method it calls (up to <see cref="DefaultMaxDepth"/> calls
    /// deep), contains an invocation for which <paramref name="isGoal"/> holds. When <paramref name="goalNames"/> is given
    /// (every invocation <paramref name="isGoal"/> accepts is named one of them), helpers whose text cannot lead to such a
    /// name are not bound at all.
    /// </summary>
    public bool Reaches(
        IMethodSymbol method, ReachGoal goal, GradientDiagnosticsOptions options, Func<IInvocationOperation, bool> isGoal, IReadOnlyCollection<string>? goalNames, CancellationToken cancellationToken)
    {
        if (method.DeclaringSyntaxReferences.IsEmpty)
        {
            return false;
        }

        var key = new CacheKey(method.OriginalDefinition, (int)goal, options);
        if (answers.TryGetValue(key, out var known))
        {
            return known;
        }

        var answer = Search(method, isGoal, goalNames, DefaultMaxDepth, new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default), cancellationToken);
        answers.TryAdd(key, answer);
        return answer;
    }

    /// <summary>True when <paramref name="root"/> contains, directly or through source helpers, an invocation for which <paramref name="isGoal"/> holds.</summary>
    public bool OperationReaches(IOperation root, Func<IInvocationOperation, bool> isGoal, CancellationToken cancellationToken, int maxDepth = DefaultMaxDepth) =>
        SearchOperation(root, isGoal, goalNames: null, maxDepth, new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default), cancellationToken);

    private bool Search(IMethodSymbol method, Func<IInvocationOperation, bool> isGoal, IReadOnlyCollection<string>? goalNames, int depth, HashSet<IMethodSymbol> visited, CancellationToken cancellationToken)
    {
        if (depth < 0 || !visited.Add(method.OriginalDefinition) || (goalNames is not null && !search.MayReach(method, goalNames, cancellationToken)))
        {
            return false;
        }

        foreach (var body in bodies.Of(method, cancellationToken))
        {
            if (SearchOperation(body, isGoal, goalNames, depth, visited, cancellationToken))
            {
                return true;
            }
        }

        return false;
    }

    private bool SearchOperation(IOperation root, Func<IInvocationOperation, bool> isGoal, IReadOnlyCollection<string>? goalNames, int depth, HashSet<IMethodSymbol> visited, CancellationToken cancellationToken)
    {
        foreach (var invocation in root.Invocations())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (isGoal(invocation)
                || (depth > 0 && !invocation.TargetMethod.DeclaringSyntaxReferences.IsEmpty && Search(invocation.TargetMethod, isGoal, goalNames, depth - 1, visited, cancellationToken)))
            {
                return true;
            }
        }

        return false;
    }
}
