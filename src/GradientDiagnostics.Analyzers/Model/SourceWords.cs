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
    private static readonly ConditionalWeakTable<SyntaxTree, TreeText> Texts = new();
    private static readonly string[] ModuleInvocationNames = ["call", "forward"];

    public static string TextOf(SyntaxTree tree) => Texts.GetValue(tree, TreeText.Read).Text;

    /// <summary>True when the span holds a unicode escape (<c>\u0066orward</c>), which can spell any name.</summary>
    public static bool HasUnicodeEscape(SyntaxTree tree, TextSpan span)
    {
        var text = Texts.GetValue(tree, TreeText.Read);
        return text.HasUnicodeEscape && HasUnicodeEscape(text.Text, span);
    }

    /// <summary>True when <paramref name="span"/> of <paramref name="tree"/> holds one of <paramref name="words"/> as a whole word.</summary>
    public static bool Mentions(SyntaxTree tree, TextSpan span, IReadOnlyCollection<string> words)
    {
        if (HasUnicodeEscape(tree, span))
        {
            return true;
        }

        var text = TextOf(tree);
        foreach (var word in words)
        {
            if (Find(text, span, word, 0) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The names the span invokes, in order (repeats included): each identifier written before a <c>(</c>, or before the
    /// generic argument list in front of one. Over-approximates (a keyword such as <c>if</c> is returned too). Read from an
    /// index of the file built once, so asking about many spans allocates nothing.
    /// </summary>
    public static IEnumerable<string> InvokedNames(SyntaxTree tree, TextSpan span)
    {
        var invocations = Texts.GetValue(tree, TreeText.Read).Invocations;
        for (var i = FirstAtOrAfter(invocations, span.Start); i < invocations.Length && invocations[i].Open < span.End; i++)
        {
            yield return invocations[i].Name;
        }
    }

    /// <summary>
    /// True when the span may call <c>call</c> or <c>forward</c> with a second argument — the only way a state reaches a
    /// recurrent module. Parentheses are matched as text; a string or character literal inside the call keeps the answer true.
    /// </summary>
    public static bool MayCallWithState(SyntaxTree tree, TextSpan span)
    {
        if (HasUnicodeEscape(tree, span))
        {
            return true;
        }

        var text = TextOf(tree);
        foreach (var name in ModuleInvocationNames)
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

    private static int FirstAtOrAfter((int Open, string Name)[] invocations, int position)
    {
        int low = 0, high = invocations.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (invocations[middle].Open < position)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>Every identifier written before a <c>(</c> (or before the generic argument list in front of one), by the position of the parenthesis.</summary>
    private static (int Open, string Name)[] IndexInvocations(string text)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var invocations = new List<(int Open, string Name)>();
        for (var open = text.IndexOf('('); open >= 0; open = text.IndexOf('(', open + 1))
        {
            var end = SkipWhiteSpaceBackward(text, open - 1, 0);
            if (end >= 0 && text[end] == '>')
            {
                end = SkipWhiteSpaceBackward(text, MatchingOpen(text, end, 0) - 1, 0);
            }

            var start = end;
            while (start >= 0 && IsIdentifierPart(text[start]))
            {
                start--;
            }

            if (start < end)
            {
                var name = text.Substring(start + 1, end - start);
                if (!names.TryGetValue(name, out var shared))
                {
                    names[name] = shared = name;
                }

                invocations.Add((open, shared));
            }
        }

        return invocations.ToArray();
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

    /// <summary>A file's text, whether it holds a unicode escape anywhere (almost no file does), and the names it invokes.</summary>
    private sealed class TreeText
    {
        private readonly Lazy<(int Open, string Name)[]> invocations;

        private TreeText(string text)
        {
            Text = text;
            HasUnicodeEscape = SourceWords.HasUnicodeEscape(text, new TextSpan(0, text.Length));
            invocations = new Lazy<(int Open, string Name)[]>(() => IndexInvocations(text));
        }

        public string Text { get; }

        public bool HasUnicodeEscape { get; }

        public (int Open, string Name)[] Invocations => invocations.Value;

        public static TreeText Read(SyntaxTree tree) => new(tree.GetText().ToString());
    }
}
