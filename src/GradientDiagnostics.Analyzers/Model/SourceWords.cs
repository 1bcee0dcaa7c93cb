using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Word-level questions about source text, answered before anything is bound: does this span name a word, which names does
/// it invoke, does it call a module with a second (state) argument. A text answer only ever rules work out; whatever it
/// lets through is decided by symbol. An identifier written with a unicode escape (<c>\u0066orward</c>) defeats a text
/// search, so a span containing <c>\u</c> is assumed to mention everything.
/// </summary>
internal static class SourceWords
{
    // The text of an unchanged file is shared by every compilation an IDE makes while the user types elsewhere.
    private static readonly ConditionalWeakTable<SyntaxTree, string> Texts = new();

    public static string TextOf(SyntaxTree tree) => Texts.GetValue(tree, t => t.GetText().ToString());

    /// <summary>True when <paramref name="span"/> of <paramref name="tree"/> holds one of <paramref name="words"/> as a whole word.</summary>
    public static bool Mentions(SyntaxTree tree, TextSpan span, IReadOnlyCollection<string> words)
    {
        var text = TextOf(tree);
        if (HasUnicodeEscape(text, span))
        {
            return true;
        }

        foreach (var word in words)
        {
            if (Find(text, span, word, 0) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the span invokes one of <paramref name="names"/>: the identifier before a <c>(</c> (or before its generic argument list).</summary>
    public static bool Invokes(SyntaxTree tree, TextSpan span, HashSet<string> names)
    {
        var text = TextOf(tree);
        for (var open = text.IndexOf('(', span.Start, span.Length); open >= 0; open = open + 1 < span.End ? text.IndexOf('(', open + 1, span.End - open - 1) : -1)
        {
            var end = SkipWhiteSpaceBackward(text, open - 1, span.Start);
            if (end >= span.Start && text[end] == '>')
            {
                end = SkipWhiteSpaceBackward(text, MatchingOpen(text, end, span.Start) - 1, span.Start);
            }

            var start = end;
            while (start >= span.Start && IsIdentifierPart(text[start]))
            {
                start--;
            }

            if (start < end && names.Contains(text.Substring(start + 1, end - start)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when the span may call <c>call</c> or <c>forward</c> with a second argument — the only way a state reaches a
    /// recurrent module. Parentheses are matched as text; a string or character literal inside the call keeps the answer true.
    /// </summary>
    public static bool MayCallWithState(SyntaxTree tree, TextSpan span)
    {
        var text = TextOf(tree);
        if (HasUnicodeEscape(text, span))
        {
            return true;
        }

        foreach (var name in new[] { "call", "forward" })
        {
            for (var at = Find(text, span, name, 0); at >= 0; at = Find(text, span, name, at + name.Length))
            {
                var open = SkipWhiteSpace(text, at + name.Length, span.End);
                if (open < span.End && text[open] == '(' && HasSecondArgument(text, open, span.End))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool HasSecondArgument(string text, int open, int end)
    {
        var depth = 0;
        for (var at = open; at < end; at++)
        {
            switch (text[at])
            {
                case '(' or '[' or '{':
                    depth++;
                    break;
                case ')' or ']' or '}':
                    if (--depth == 0)
                    {
                        return false;
                    }

                    break;
                case ',' when depth == 1:
                case '"' or '\'':
                    return true;
            }
        }

        return true;
    }

    /// <summary>The first whole-word occurrence of <paramref name="word"/> in the span at or after <paramref name="from"/>; -1 when none.</summary>
    private static int Find(string text, TextSpan span, string word, int from)
    {
        var start = Math.Max(span.Start, from);
        for (var at = start < span.End ? text.IndexOf(word, start, span.End - start, StringComparison.Ordinal) : -1;
             at >= 0;
             at = at + 1 < span.End ? text.IndexOf(word, at + 1, span.End - at - 1, StringComparison.Ordinal) : -1)
        {
            var after = at + word.Length;
            if ((at == 0 || !IsIdentifierPart(text[at - 1])) && (after >= text.Length || !IsIdentifierPart(text[after])))
            {
                return at;
            }
        }

        return -1;
    }

    private static bool HasUnicodeEscape(string text, TextSpan span) =>
        text.IndexOf("\\u", span.Start, span.Length, StringComparison.Ordinal) >= 0 || text.IndexOf("\\U", span.Start, span.Length, StringComparison.Ordinal) >= 0;

    private static int SkipWhiteSpaceBackward(string text, int at, int start)
    {
        while (at >= start && char.IsWhiteSpace(text[at]))
        {
            at--;
        }

        return at;
    }

    /// <summary>The position of the <c>&lt;</c> that opens the generic argument list closed at <paramref name="close"/>.</summary>
    private static int MatchingOpen(string text, int close, int start)
    {
        var depth = 0;
        for (var at = close; at >= start; at--)
        {
            if (text[at] == '>')
            {
                depth++;
            }
            else if (text[at] == '<' && --depth == 0)
            {
                return at;
            }
        }

        return start;
    }

    private static int SkipWhiteSpace(string text, int at, int end)
    {
        while (at < end && char.IsWhiteSpace(text[at]))
        {
            at++;
        }

        return at;
    }

    private static bool IsIdentifierPart(char c) => char.IsLetterOrDigit(c) || c == '_';
}
