using System;
using Microsoft.CodeAnalysis;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// What a tensor or module expression ultimately belongs to: the field, property, local or parameter that holds a module,
/// or the model instance itself (<c>this</c> inside a model type).
/// </summary>
internal readonly struct ModuleRoot : IEquatable<ModuleRoot>
{
    private ModuleRoot(ISymbol? symbol, INamedTypeSymbol? instanceOf)
    {
        Symbol = symbol;
        InstanceOf = instanceOf;
    }

    public static ModuleRoot Unknown => default;

    /// <summary>The field, property, local or parameter holding the module; null for an instance root.</summary>
    public ISymbol? Symbol { get; }

    /// <summary>For <c>this</c>: the type whose instance it is.</summary>
    public INamedTypeSymbol? InstanceOf { get; }

    public bool IsKnown => Symbol is not null || InstanceOf is not null;

    public static ModuleRoot Of(ISymbol symbol) => new(symbol, null);

    public static ModuleRoot This(INamedTypeSymbol type) => new(null, type);

    public static bool operator ==(ModuleRoot left, ModuleRoot right) => left.Equals(right);

    public static bool operator !=(ModuleRoot left, ModuleRoot right) => !left.Equals(right);

    public bool Equals(ModuleRoot other) =>
        SymbolEqualityComparer.Default.Equals(Symbol, other.Symbol) && SymbolEqualityComparer.Default.Equals(InstanceOf, other.InstanceOf);

    public override bool Equals(object? obj) => obj is ModuleRoot other && Equals(other);

    public override int GetHashCode() =>
        (SymbolEqualityComparer.Default.GetHashCode(Symbol) * 397) ^ SymbolEqualityComparer.Default.GetHashCode(InstanceOf);

    public override string ToString() => Symbol?.Name ?? (InstanceOf is null ? "?" : "this:" + InstanceOf.Name);
}
