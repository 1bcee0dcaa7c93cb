using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Narrows a search across the compilation to the files and member bodies that can matter, before anything is bound:
/// a call of a method names it, and an expression of a type gets that type from a declaration, creation, cast or member
/// that names it. The text only decides what is not worth binding; what is found is always confirmed by symbol.
/// Identifiers written with unicode escapes (<c>\u0066orward</c>) defeat a text search, so a file containing one is
/// always searched.
/// </summary>
internal sealed class SourceSearch
{
    private readonly Compilation compilation;
    private readonly TextReach reach;
    private readonly ConditionalWeakTable<TextGoal, ConcurrentDictionary<(SyntaxTree Tree, int Start), bool>> answers = new();

    public SourceSearch(Compilation compilation)
    {
        this.compilation = compilation;
        reach = new TextReach(compilation);
    }

    /// <summary>The files whose text holds one of <paramref name="words"/> as a whole word.</summary>
    public IEnumerable<SyntaxTree> TreesMentioning(IReadOnlyCollection<string> words, CancellationToken cancellationToken)
    {
        foreach (var tree in compilation.SyntaxTrees)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (SourceWords.Mentions(tree, new TextSpan(0, SourceWords.TextOf(tree).Length), words))
            {
                yield return tree;
            }
        }
    }

    /// <summary>
    /// The member bodies of a file (methods, constructors, accessors, field and property initializers, top-level statements)
    /// whose text holds one of <paramref name="words"/>.
    /// </summary>
    public static IEnumerable<SyntaxNode> MembersMentioning(SyntaxTree tree, IReadOnlyCollection<string> words, CancellationToken cancellationToken)
    {
        var root = tree.GetRoot(cancellationToken);
        if (root is CompilationUnitSyntax unit && unit.Members.OfType<GlobalStatementSyntax>().Any(statement => SourceWords.Mentions(tree, statement.Span, words)))
        {
            yield return unit.Members.OfType<GlobalStatementSyntax>().First().Statement;
        }

        foreach (var node in root.DescendantNodes(descendIntoChildren: node =>
            node is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax or BaseTypeDeclarationSyntax or BasePropertyDeclarationSyntax or AccessorListSyntax
                or BaseFieldDeclarationSyntax or VariableDeclarationSyntax))
        {
            // A member is searched by its whole declaration (a target-typed `new()` is named by the declared type), and
            // bound by its body.
            var (declaration, body) = node switch
            {
                BaseMethodDeclarationSyntax method => (method, method),
                AccessorDeclarationSyntax { Body: not null } or AccessorDeclarationSyntax { ExpressionBody: not null } => (node.Parent?.Parent ?? node, node),
                ArrowExpressionClauseSyntax { Parent: BasePropertyDeclarationSyntax property } => (property, node),
                VariableDeclaratorSyntax { Initializer: { } initializer, Parent.Parent: BaseFieldDeclarationSyntax field } => (field, initializer),
                PropertyDeclarationSyntax { Initializer: { } initializer } property => (property, initializer),
                _ => ((SyntaxNode?)null, (SyntaxNode?)null),
            };

            if (declaration is not null && body is not null && SourceWords.Mentions(tree, declaration.Span, words))
            {
                yield return body;
            }
        }
    }

    /// <summary>
    /// The words a file must contain to hold an expression of <paramref name="type"/>: its name, the names of its source
    /// subclasses, and the names of members declared with one of those types (a factory, a field of a partial type).
    /// </summary>
    public IReadOnlyCollection<string> WordsReferring(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var types = new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default) { type.OriginalDefinition };
        var words = new HashSet<string>(StringComparer.Ordinal) { type.Name };
        foreach (var symbol in compilation.GetSymbolsWithName(_ => true, SymbolFilter.TypeAndMember, cancellationToken))
        {
            if (symbol is INamedTypeSymbol named && Derives(named, type))
            {
                types.Add(named);
                words.Add(named.Name);
            }
        }

        foreach (var symbol in compilation.GetSymbolsWithName(_ => true, SymbolFilter.Member, cancellationToken))
        {
            var declared = symbol switch
            {
                IMethodSymbol method => method.ReturnType,
                _ => symbol.DeclaredType(),
            };

            if (declared is not null && MentionsType(declared, types))
            {
                words.Add(symbol.Name);
            }
        }

        return words;
    }

    /// <summary>
    /// False only when calling <paramref name="method"/> certainly reaches no invocation named in <paramref name="names"/>:
    /// its text holds none of them and invokes no source method whose text (or whose callees' text) does, so the semantic
    /// search, which follows invocations only, has nowhere to go. Lets a search skip binding a helper that cannot matter;
    /// a true answer is settled by binding the helper. Kept per name set and declaration.
    /// </summary>
    public bool MayReach(IMethodSymbol method, IReadOnlyCollection<string> names, CancellationToken cancellationToken) =>
        MayReach(method, TextGoal.Mentioning(names), cancellationToken);

    /// <summary>
    /// False only when <paramref name="method"/> certainly feeds no recurrent state into a module: it calls no <c>call</c>/
    /// <c>forward</c> with a state (second) argument, and no source method whose text (or whose callees' text) does. Read
    /// from the text, so a helper that cannot pass state is never bound to find out.
    /// </summary>
    public bool MayPassState(IMethodSymbol method, CancellationToken cancellationToken) =>
        MayReach(method, TextGoal.StatePassing, cancellationToken);

    /// <summary>True when the body of <paramref name="declaration"/> may call a module with a state or a source method that does.</summary>
    public bool MayPassState(SyntaxNode declaration) => MayReach(declaration.SyntaxTree, TextReach.BodySpan(declaration), TextGoal.StatePassing);

    /// <summary>True when <paramref name="span"/> meets <paramref name="goal"/> by its text or may call a source method that does.</summary>
    public bool MayReach(SyntaxTree tree, TextSpan span, TextGoal goal) => goal.IsMetBy(tree, span) || reach.MayCallInto(tree, span, goal);

    private bool MayReach(IMethodSymbol method, TextGoal goal, CancellationToken cancellationToken)
    {
        var memo = answers.GetValue(goal, _ => new ConcurrentDictionary<(SyntaxTree Tree, int Start), bool>());
        foreach (var reference in method.OriginalDefinition.DeclaringSyntaxReferences)
        {
            // Red nodes of large lists are held weakly, so a declaration is known by its place, not by its node.
            var place = (reference.SyntaxTree, reference.Span.Start);
            if (memo.GetOrAdd(place, _ => MayReach(reference.SyntaxTree, TextReach.BodySpan(reference.GetSyntax(cancellationToken)), goal)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Derives(INamedTypeSymbol candidate, INamedTypeSymbol type)
    {
        for (var current = candidate.BaseType; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, type.OriginalDefinition))
            {
                return true;
            }
        }

        return false;
    }

    private static bool MentionsType(ITypeSymbol type, HashSet<ITypeSymbol> types) => type switch
    {
        IArrayTypeSymbol array => MentionsType(array.ElementType, types),
        INamedTypeSymbol named => types.Contains(named.OriginalDefinition) || named.TypeArguments.Any(argument => MentionsType(argument, types)),
        _ => false,
    };
}
