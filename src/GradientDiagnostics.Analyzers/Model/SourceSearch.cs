using System;
using System.Collections.Generic;
using System.Linq;
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

    public SourceSearch(Compilation compilation)
    {
        this.compilation = compilation;
    }

    /// <summary>The files whose text holds one of <paramref name="words"/> as a whole word.</summary>
    public IEnumerable<SyntaxTree> TreesMentioning(IReadOnlyCollection<string> words, CancellationToken cancellationToken)
    {
        foreach (var tree in compilation.SyntaxTrees)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var text = tree.GetText(cancellationToken);
            if (Mentions(text, new TextSpan(0, text.Length), words))
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
        var text = tree.GetText(cancellationToken);
        var root = tree.GetRoot(cancellationToken);
        if (root is CompilationUnitSyntax unit && unit.Members.OfType<GlobalStatementSyntax>().Any(statement => Mentions(text, statement.Span, words)))
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

            if (declaration is not null && body is not null && Mentions(text, declaration.Span, words))
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

            if (declared is not null && Mentions(declared, types))
            {
                words.Add(symbol.Name);
            }
        }

        return words;
    }

    /// <summary>True when the text in <paramref name="span"/> holds one of <paramref name="words"/> as a whole word (or a unicode escape).</summary>
    public static bool Mentions(SourceText text, TextSpan span, IReadOnlyCollection<string> words)
    {
        var end = span.End;
        for (var at = span.Start; at < end; at++)
        {
            var c = text[at];
            if (c == '\\' && at + 1 < end && text[at + 1] is 'u' or 'U')
            {
                return true;
            }

            if (!IsIdentifierStart(c) || (at > span.Start && IsIdentifierPart(text[at - 1])))
            {
                continue;
            }

            var wordEnd = at + 1;
            while (wordEnd < end && IsIdentifierPart(text[wordEnd]))
            {
                wordEnd++;
            }

            foreach (var word in words)
            {
                if (word.Length == wordEnd - at && Matches(text, at, word))
                {
                    return true;
                }
            }

            at = wordEnd - 1;
        }

        return false;
    }

    private static bool Matches(SourceText text, int start, string word)
    {
        for (var i = 0; i < word.Length; i++)
        {
            if (text[start + i] != word[i])
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsIdentifierStart(char c) => char.IsLetter(c) || c == '_';

    private static bool IsIdentifierPart(char c) => char.IsLetterOrDigit(c) || c == '_';

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

    private static bool Mentions(ITypeSymbol type, HashSet<ITypeSymbol> types) => type switch
    {
        IArrayTypeSymbol array => Mentions(array.ElementType, types),
        INamedTypeSymbol named => types.Contains(named.OriginalDefinition) || named.TypeArguments.Any(argument => Mentions(argument, types)),
        _ => false,
    };
}
