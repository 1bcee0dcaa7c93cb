using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Looks through calls into methods declared in the same compilation, so that clipping, detaching and
/// initialisation done in user helpers count. One instance per compilation (create it in the compilation-start action).
/// </summary>
public sealed class SourceMethodBodies
{
    /// <summary>How many calls deep helpers are followed.</summary>
    public const int DefaultMaxDepth = 4;

    private readonly Compilation compilation;
    private readonly ConcurrentDictionary<SyntaxTree, SemanticModel> models = new();
    private readonly ConcurrentDictionary<(IMethodSymbol Method, string Key), bool> reaches = new(MethodKeyComparer.Instance);

    public SourceMethodBodies(Compilation compilation)
    {
        this.compilation = compilation;
    }

    /// <summary>The body operations of a method, property accessor or constructor declared in this compilation; empty for metadata methods.</summary>
    public IEnumerable<IOperation> GetBodies(IMethodSymbol method, CancellationToken cancellationToken)
    {
        foreach (var reference in method.OriginalDefinition.DeclaringSyntaxReferences)
        {
            var syntax = reference.GetSyntax(cancellationToken);
            if (!compilation.ContainsSyntaxTree(syntax.SyntaxTree))
            {
                continue;
            }

            var model = GetSemanticModel(syntax.SyntaxTree);
            var operation = model.GetOperation(syntax, cancellationToken);
            if (operation is not null)
            {
                yield return operation;
            }
        }
    }

    /// <summary>The operation for a syntax node of this compilation (e.g. a field initializer found through a symbol); null for other trees.</summary>
    public IOperation? GetOperation(SyntaxNode syntax, CancellationToken cancellationToken) =>
        compilation.ContainsSyntaxTree(syntax.SyntaxTree) ? GetSemanticModel(syntax.SyntaxTree).GetOperation(syntax, cancellationToken) : null;

    /// <summary>
    /// True when <paramref name="method"/>'s body, or a source method it calls (up to <paramref name="maxDepth"/> calls deep),
    /// contains an invocation matching <paramref name="predicate"/>. <paramref name="key"/> names the predicate for caching.
    /// </summary>
    public bool Reaches(IMethodSymbol method, string key, Func<IInvocationOperation, bool> predicate, CancellationToken cancellationToken, int maxDepth = DefaultMaxDepth)
    {
        if (reaches.TryGetValue((method, key), out var cached))
        {
            return cached;
        }

        var result = Search(method, predicate, maxDepth, new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default), cancellationToken);
        reaches.TryAdd((method, key), result);
        return result;
    }

    /// <summary>True when <paramref name="root"/> contains, directly or through source helpers, an invocation matching <paramref name="predicate"/>.</summary>
    public bool OperationReaches(IOperation root, Func<IInvocationOperation, bool> predicate, CancellationToken cancellationToken, int maxDepth = DefaultMaxDepth)
    {
        var visited = new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default);
        return SearchOperation(root, predicate, maxDepth, visited, cancellationToken);
    }

    private bool Search(IMethodSymbol method, Func<IInvocationOperation, bool> predicate, int depth, HashSet<IMethodSymbol> visited, CancellationToken cancellationToken)
    {
        if (depth < 0 || !visited.Add(method.OriginalDefinition))
        {
            return false;
        }

        return GetBodies(method, cancellationToken).Any(body => SearchOperation(body, predicate, depth, visited, cancellationToken));
    }

    private bool SearchOperation(IOperation root, Func<IInvocationOperation, bool> predicate, int depth, HashSet<IMethodSymbol> visited, CancellationToken cancellationToken)
    {
        foreach (var invocation in root.DescendantsAndSelf().OfType<IInvocationOperation>())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (predicate(invocation))
            {
                return true;
            }

            if (depth > 0 && Search(invocation.TargetMethod, predicate, depth - 1, visited, cancellationToken))
            {
                return true;
            }
        }

        return false;
    }

    // Analyzers may ask for other trees' models to follow calls into helpers; models are cached per tree.
#pragma warning disable RS1030 // Do not invoke Compilation.GetSemanticModel() method within a diagnostic analyzer
    private SemanticModel GetSemanticModel(SyntaxTree tree) => models.GetOrAdd(tree, t => compilation.GetSemanticModel(t));
#pragma warning restore RS1030

    private sealed class MethodKeyComparer : IEqualityComparer<(IMethodSymbol Method, string Key)>
    {
        public static readonly MethodKeyComparer Instance = new();

        public bool Equals((IMethodSymbol Method, string Key) x, (IMethodSymbol Method, string Key) y) =>
            x.Key == y.Key && SymbolEqualityComparer.Default.Equals(x.Method, y.Method);

        public int GetHashCode((IMethodSymbol Method, string Key) obj) =>
            (SymbolEqualityComparer.Default.GetHashCode(obj.Method) * 397) ^ obj.Key.GetHashCode();
    }
}
