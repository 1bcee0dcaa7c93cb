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
    // Syntax of an unchanged file is shared by every compilation an IDE makes while the user types elsewhere.
    private static readonly ConditionalWeakTable<SyntaxTree, MethodDeclarationSyntax[]> MethodDeclarations = new();

    private readonly Compilation compilation;
    private readonly Lazy<HashSet<string>> methodsByName;
    private readonly ConcurrentDictionary<string, ReachMemo> reachMemos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(SyntaxTree Tree, int Start), bool> passesState = new();

    public SourceSearch(Compilation compilation)
    {
        this.compilation = compilation;
        methodsByName = new Lazy<HashSet<string>>(IndexMethods, LazyThreadSafetyMode.PublicationOnly);
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
    /// its text holds none of them and invokes no method declared in source by that name (so the semantic search, which
    /// follows invocations only, has nowhere to go). Lets a search skip binding a helper that cannot matter; a true answer
    /// is settled by binding the helper. Kept per name set and declaration.
    /// </summary>
    public bool MayReach(IMethodSymbol method, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        var memo = reachMemos.GetOrAdd(string.Join(",", names), _ => new ReachMemo(names));
        foreach (var reference in method.OriginalDefinition.DeclaringSyntaxReferences)
        {
            // Red nodes of large lists are held weakly, so a declaration is known by its place, not by its node.
            var place = (reference.SyntaxTree, reference.Span.Start);
            if (memo.Answers.GetOrAdd(place, _ => MayReach(reference.GetSyntax(cancellationToken), names, cancellationToken)))
            {
                return true;
            }
        }

        return false;
    }

    private bool MayReach(SyntaxNode declaration, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        var body = BodySpan(declaration);
        return SourceWords.Mentions(declaration.SyntaxTree, body, names) || InvokesSourceMethod(declaration.SyntaxTree, body);
    }

    /// <summary>What a declaration runs: its body (without its own name, which is followed by its parameter list), or all of it.</summary>
    private static TextSpan BodySpan(SyntaxNode declaration) => declaration switch
    {
        BaseMethodDeclarationSyntax { Body: { } body } => body.Span,
        BaseMethodDeclarationSyntax { ExpressionBody: { } arrow } => arrow.Span,
        LocalFunctionStatementSyntax { Body: { } body } => body.Span,
        LocalFunctionStatementSyntax { ExpressionBody: { } arrow } => arrow.Span,
        _ => declaration.Span,
    };

    /// <summary>
    /// False only when <paramref name="method"/> certainly feeds no recurrent state into a module: it calls no <c>call</c>/
    /// <c>forward</c> with a state (second) argument and no method declared in source (which could). Read from the text, so
    /// a helper that cannot pass state is never bound to find out.
    /// </summary>
    public bool MayPassState(IMethodSymbol method, CancellationToken cancellationToken) =>
        method.OriginalDefinition.DeclaringSyntaxReferences.Any(reference =>
            passesState.GetOrAdd((reference.SyntaxTree, reference.Span.Start), _ => MayPassState(reference.GetSyntax(cancellationToken))));

    /// <summary>True when the body of <paramref name="declaration"/> may call a module with a state or a source method that does.</summary>
    public bool MayPassState(SyntaxNode declaration)
    {
        var body = BodySpan(declaration);
        return SourceWords.MayCallWithState(declaration.SyntaxTree, body) || InvokesSourceMethod(declaration.SyntaxTree, body);
    }

    /// <summary>True when the span invokes a name that a method declared in source has (the semantic search could follow it).</summary>
    public bool InvokesSourceMethod(SyntaxTree tree, TextSpan span) => SourceWords.Invokes(tree, span, methodsByName.Value);

    /// <summary>The names of the methods declared in source, from the syntax of each file (nothing is bound).</summary>
    private HashSet<string> IndexMethods()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tree in compilation.SyntaxTrees)
        {
            foreach (var method in MethodDeclarations.GetValue(tree, DeclaredMethods))
            {
                names.Add(method.Identifier.ValueText);
            }
        }

        return names;
    }

    /// <summary>The method declarations of a file, found without descending into member bodies.</summary>
    private static MethodDeclarationSyntax[] DeclaredMethods(SyntaxTree tree) =>
        tree.GetRoot().DescendantNodes(descendIntoChildren: node => node is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax or TypeDeclarationSyntax)
            .OfType<MethodDeclarationSyntax>()
            .ToArray();

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

    /// <summary>The answers of <see cref="MayReach(IMethodSymbol, IReadOnlyCollection{string}, CancellationToken)"/> for one set of names.</summary>
    private sealed class ReachMemo
    {
        public ReachMemo(IReadOnlyCollection<string> names)
        {
            Names = names;
        }

        public IReadOnlyCollection<string> Names { get; }

        public ConcurrentDictionary<(SyntaxTree Tree, int Start), bool> Answers { get; } = new();
    }
}
