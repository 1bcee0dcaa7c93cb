using System;
using Microsoft.CodeAnalysis;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The key of a per-compilation cache of the model: a symbol (compared as symbols are), what is asked about it (a goal, a
/// depth; 0 when there is one question), and the options in effect. Every option value that shapes an answer is part of
/// its key, so files whose .editorconfig values differ never share an answer, whichever asks first.
/// </summary>
internal readonly struct CacheKey : IEquatable<CacheKey>
{
    public CacheKey(ISymbol symbol, int question, GradientDiagnosticsOptions options)
    {
        Symbol = symbol;
        Question = question;
        Options = options;
    }

    public ISymbol Symbol { get; }

    public int Question { get; }

    public GradientDiagnosticsOptions Options { get; }

    public bool Equals(CacheKey other) =>
        Question == other.Question && SymbolEqualityComparer.Default.Equals(Symbol, other.Symbol) && Options.Equals(other.Options);

    public override bool Equals(object? obj) => obj is CacheKey other && Equals(other);

    public override int GetHashCode() => unchecked((SymbolEqualityComparer.Default.GetHashCode(Symbol) * 397) ^ (Question * 31) ^ Options.GetHashCode());
}
