using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// What a span of source may reach through the methods it calls, read from text alone: a call names its method, so a span
/// that invokes no name of a source method whose text (or whose callees' text, transitively) meets a goal cannot reach
/// that goal through source. Lets the analyzers leave unbound the types and helpers that cannot matter; whatever is let
/// through is decided by symbol. Names stand for every method declared with them (overloads, overrides), so the answer
/// errs towards "may". One instance per compilation; answers are kept per goal and name.
/// </summary>
internal sealed class TextReach
{
    private readonly Lazy<SourceMethodIndex> methods;
    private readonly ConditionalWeakTable<TextGoal, ConcurrentDictionary<string, bool>> answers = new();

    public TextReach(Compilation compilation)
    {
        methods = new Lazy<SourceMethodIndex>(() => SourceMethodIndex.Build(compilation));
    }

    /// <summary>
    /// False only when <paramref name="span"/> certainly invokes no source method that, by its text or its callees' text,
    /// meets <paramref name="goal"/>. A span holding a unicode escape (which can spell any name) may invoke anything.
    /// </summary>
    public bool MayCallInto(SyntaxTree tree, TextSpan span, TextGoal goal)
    {
        if (SourceWords.HasUnicodeEscape(tree, span))
        {
            return true;
        }

        var known = answers.GetValue(goal, _ => new ConcurrentDictionary<string, bool>(StringComparer.Ordinal));
        foreach (var name in SourceWords.InvokedNames(tree, span))
        {
            if (known.TryGetValue(name, out var reaches) ? reaches : !methods.Value.Named(name).IsEmpty && Solve(name, goal, known))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What a declaration runs: its body (without its own name, which is followed by its parameter list), or all of it.</summary>
    public static TextSpan BodySpan(SyntaxNode declaration) => declaration switch
    {
        BaseMethodDeclarationSyntax { Body: { } body } => body.Span,
        BaseMethodDeclarationSyntax { ExpressionBody: { } arrow } => arrow.Span,
        LocalFunctionStatementSyntax { Body: { } body } => body.Span,
        LocalFunctionStatementSyntax { ExpressionBody: { } arrow } => arrow.Span,
        _ => declaration.Span,
    };

    /// <summary>
    /// Answers for <paramref name="name"/> and every name its methods call (transitively): the names whose methods meet the
    /// goal, and then every name that calls one of them. The whole call graph under the name is settled at once, so a
    /// recursive call (a forward calling forward) is answered by what the cycle reaches, not assumed.
    /// </summary>
    private bool Solve(string name, TextGoal goal, ConcurrentDictionary<string, bool> known)
    {
        var callers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var settled = new HashSet<string>(StringComparer.Ordinal);
        var reached = new Queue<string>();
        var pending = new Stack<string>();
        pending.Push(name);
        callers[name] = [];
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            if (known.TryGetValue(current, out var answer))
            {
                if (answer)
                {
                    reached.Enqueue(current);
                }

                continue;
            }

            if (Meets(current, goal, callers, pending))
            {
                reached.Enqueue(current);
            }
        }

        while (reached.Count > 0)
        {
            var current = reached.Dequeue();
            if (settled.Add(current))
            {
                foreach (var caller in callers[current])
                {
                    reached.Enqueue(caller);
                }
            }
        }

        foreach (var visited in callers.Keys)
        {
            known.TryAdd(visited, settled.Contains(visited));
        }

        return settled.Contains(name);
    }

    /// <summary>True when a method named <paramref name="name"/> meets the goal by its own text; otherwise records the source names it calls.</summary>
    private bool Meets(string name, TextGoal goal, Dictionary<string, List<string>> callers, Stack<string> pending)
    {
        foreach (var declaration in methods.Value.Named(name))
        {
            var tree = declaration.SyntaxTree;
            var body = BodySpan(declaration);
            if (goal.IsMetBy(tree, body))
            {
                return true;
            }

            foreach (var callee in SourceWords.InvokedNames(tree, body))
            {
                if (methods.Value.Named(callee).IsEmpty)
                {
                    continue;
                }

                if (!callers.TryGetValue(callee, out var list))
                {
                    callers[callee] = list = [];
                    pending.Push(callee);
                }

                list.Add(name);
            }
        }

        return false;
    }
}

/// <summary>A goal that source text can be searched for: naming a word, or calling a module with a state.</summary>
internal sealed class TextGoal
{
    private static readonly ConditionalWeakTable<IReadOnlyCollection<string>, TextGoal> ByNames = new();

    private readonly Func<SyntaxTree, TextSpan, bool> isMetBy;

    private TextGoal(Func<SyntaxTree, TextSpan, bool> isMetBy)
    {
        this.isMetBy = isMetBy;
    }

    /// <summary>A span that may call <c>call</c>/<c>forward</c> with a second (state) argument.</summary>
    public static TextGoal StatePassing { get; } = new(SourceWords.MayCallWithState);

    /// <summary>A span that names one of <paramref name="words"/> (one goal per collection instance, so answers are shared).</summary>
    public static TextGoal Mentioning(IReadOnlyCollection<string> words) =>
        ByNames.GetValue(words, w => new TextGoal((tree, span) => SourceWords.Mentions(tree, span, w)));

    public bool IsMetBy(SyntaxTree tree, TextSpan span) => isMetBy(tree, span);
}
