using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>
/// The method-name index an IDE derives, keystroke after keystroke, from the previous compilation's: after any edit it
/// must say exactly what an index read from scratch would, and the earlier compilation's index must not change.
/// </summary>
public class SourceMethodIndexTests
{
    [Fact]
    public void An_index_derived_from_the_previous_compilation_matches_the_edited_sources_and_leaves_the_previous_one_intact()
    {
        var trees = Enumerable.Range(0, 12)
            .Select(i => CSharpSyntaxTree.ParseText(
                $$"""
                namespace Shop;

                public sealed class Trainer{{i}}
                {
                    public void Step() { }
                    public void Step(int times) { }
                    private static int Helper{{i}}() => 1;
                }
                """,
                path: $"Trainer{i}.cs"))
            .ToList();
        var before = TrainingCodebase.Compile("Shop", trees);
        var previous = SourceMethodIndex.Build(before);

        // One file edited the way a user types: a method renamed, one added; another file removed, a third added.
        var edited = CSharpSyntaxTree.ParseText(
            """
            namespace Shop;

            public sealed class Trainer3
            {
                public void Advance() { }
                public void Step(int times) { }
                public void Extra() { }
            }
            """,
            path: "Trainer3.cs");
        var added = CSharpSyntaxTree.ParseText("namespace Shop; static class Added { public static void Step() { } }", path: "Added.cs");
        var after = before.ReplaceSyntaxTree(trees[3], edited).RemoveSyntaxTrees(trees[7]).AddSyntaxTrees(added);
        var index = SourceMethodIndex.Build(after);

        foreach (var name in new[] { "Step", "Advance", "Extra", "Helper3", "Helper7", "Helper5", "Missing" })
        {
            Assert.Equal(Scan(after, name), Locations(index.Named(name)));
        }

        Assert.Equal(Scan(before, "Step"), Locations(previous.Named("Step")));
        Assert.Empty(previous.Named("Advance"));
        Assert.Single(previous.Named("Helper7"));
    }

    private static List<string> Scan(Compilation compilation, string name) =>
        Locations(compilation.SyntaxTrees
            .SelectMany(tree => tree.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>())
            .Where(method => method.Identifier.ValueText == name));

    private static List<string> Locations(IEnumerable<SyntaxNode> declarations) =>
        declarations.Select(node => node.SyntaxTree.FilePath + ":" + node.SpanStart).OrderBy(location => location, StringComparer.Ordinal).ToList();
}
