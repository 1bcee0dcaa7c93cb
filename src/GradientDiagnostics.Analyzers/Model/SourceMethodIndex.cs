using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The method declarations of a compilation by name, read from syntax (nothing is bound). An IDE makes a new compilation
/// on every keystroke that differs from the last by the edited file, so an index is derived from the most similar recent
/// one by re-reading only the files that changed: re-analysing one document never re-indexes the project.
/// </summary>
internal sealed class SourceMethodIndex
{
    // A few recent indexes (a solution has several projects), held weakly: the compilations own them.
    private const int RecentCount = 4;
    private static readonly WeakReference<SourceMethodIndex>?[] Recent = new WeakReference<SourceMethodIndex>?[RecentCount];
    private static readonly ConditionalWeakTable<SyntaxTree, Dictionary<string, SyntaxNode[]>> FileMethods = new();
    private static int nextSlot;

    // Never changed once built: an index is shared by every thread analysing its compilation.
    private readonly HashSet<SyntaxTree> trees;
    private readonly Dictionary<string, ImmutableArray<SyntaxNode>> methods;

    private SourceMethodIndex(HashSet<SyntaxTree> trees, Dictionary<string, ImmutableArray<SyntaxNode>> methods)
    {
        this.trees = trees;
        this.methods = methods;
    }

    /// <summary>The declarations of the source methods named <paramref name="name"/> (overloads and every type's method of that name).</summary>
    public ImmutableArray<SyntaxNode> Named(string name) => methods.TryGetValue(name, out var found) ? found : ImmutableArray<SyntaxNode>.Empty;

    public static SourceMethodIndex Build(Compilation compilation)
    {
        var current = new HashSet<SyntaxTree>(compilation.SyntaxTrees);
        var basis = MostSimilar(current);
        var index = basis is null ? FromScratch(current) : basis.Update(current);
        lock (Recent)
        {
            Recent[nextSlot] = new WeakReference<SourceMethodIndex>(index);
            nextSlot = (nextSlot + 1) % RecentCount;
        }

        return index;
    }

    /// <summary>The recent index that differs from <paramref name="current"/> by the fewest files, when that is a small part of it.</summary>
    private static SourceMethodIndex? MostSimilar(HashSet<SyntaxTree> current)
    {
        SourceMethodIndex? best = null;
        var bestChanges = Math.Max(8, current.Count / 8);
        lock (Recent)
        {
            foreach (var slot in Recent)
            {
                if (slot is not null && slot.TryGetTarget(out var candidate))
                {
                    var kept = candidate.trees.Count(current.Contains);
                    var changes = (candidate.trees.Count - kept) + (current.Count - kept);
                    if (changes < bestChanges)
                    {
                        best = candidate;
                        bestChanges = changes;
                    }
                }
            }
        }

        return best;
    }

    private static SourceMethodIndex FromScratch(HashSet<SyntaxTree> current)
    {
        var methods = new Dictionary<string, ImmutableArray<SyntaxNode>.Builder>(StringComparer.Ordinal);
        foreach (var tree in current)
        {
            foreach (var entry in MethodsOf(tree))
            {
                if (!methods.TryGetValue(entry.Key, out var list))
                {
                    methods[entry.Key] = list = ImmutableArray.CreateBuilder<SyntaxNode>();
                }

                list.AddRange(entry.Value);
            }
        }

        return new SourceMethodIndex(current, methods.ToDictionary(entry => entry.Key, entry => entry.Value.ToImmutable(), StringComparer.Ordinal));
    }

    /// <summary>This index with the methods of removed files taken out and those of added files put in.</summary>
    private SourceMethodIndex Update(HashSet<SyntaxTree> current)
    {
        var removed = trees.Where(tree => !current.Contains(tree)).ToList();
        var added = current.Where(tree => !trees.Contains(tree)).ToList();
        var methods = new Dictionary<string, ImmutableArray<SyntaxNode>>(this.methods, StringComparer.Ordinal);
        foreach (var tree in removed)
        {
            foreach (var name in MethodsOf(tree).Keys)
            {
                if (!methods.TryGetValue(name, out var list))
                {
                    continue;
                }

                var kept = list.RemoveAll(node => node.SyntaxTree == tree);
                if (kept.IsEmpty)
                {
                    methods.Remove(name);
                }
                else
                {
                    methods[name] = kept;
                }
            }
        }

        foreach (var tree in added)
        {
            foreach (var entry in MethodsOf(tree))
            {
                methods[entry.Key] = methods.TryGetValue(entry.Key, out var list) ? list.AddRange(entry.Value) : entry.Value.ToImmutableArray();
            }
        }

        return new SourceMethodIndex(current, methods);
    }

    /// <summary>A file's method declarations by name, found without descending into member bodies; kept as long as the file.</summary>
    private static Dictionary<string, SyntaxNode[]> MethodsOf(SyntaxTree tree) =>
        FileMethods.GetValue(tree, t => t.GetRoot()
            .DescendantNodes(descendIntoChildren: node => node is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax or TypeDeclarationSyntax)
            .OfType<MethodDeclarationSyntax>()
            .GroupBy(method => method.Identifier.ValueText, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.ToArray<SyntaxNode>(), StringComparer.Ordinal));
}
