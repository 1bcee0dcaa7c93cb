using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;

namespace GradientDiagnostics.Analyzers;

/// <summary>How far a graph-attached state has travelled since a recurrent module returned it.</summary>
internal enum StateAge
{
    /// <summary>Returned in this iteration: feeding it back is ordinary backpropagation through time within one step.</summary>
    ThisStep,

    /// <summary>A backward() has run since it was stored: feeding it back makes the next backward() run through earlier steps.</summary>
    AcrossBackward,
}

/// <summary>A tracked storage place: a local, parameter, field or property (optionally a member of a local or parameter), or a flow capture.</summary>
internal readonly struct Place : IEquatable<Place>
{
    public Place(ISymbol? root, ISymbol member)
    {
        Root = root;
        Member = member;
        Capture = null;
    }

    public Place(CaptureId capture)
    {
        Root = null;
        Member = null;
        Capture = capture;
    }

    /// <summary>The local or parameter whose member <see cref="Member"/> is; null for the member itself (of <c>this</c>, or a variable).</summary>
    public ISymbol? Root { get; }

    public ISymbol? Member { get; }

    public CaptureId? Capture { get; }

    public bool Equals(Place other) =>
        SymbolEqualityComparer.Default.Equals(Root, other.Root)
        && SymbolEqualityComparer.Default.Equals(Member, other.Member)
        && Nullable.Equals(Capture, other.Capture);

    public override bool Equals(object? obj) => obj is Place other && Equals(other);

    public override int GetHashCode()
    {
        unchecked
        {
            var hash = Root is null ? 0 : SymbolEqualityComparer.Default.GetHashCode(Root);
            hash = (hash * 397) ^ (Member is null ? 0 : SymbolEqualityComparer.Default.GetHashCode(Member));
            return (hash * 397) ^ Capture.GetHashCode();
        }
    }
}

/// <summary>A place that carries a state into a later iteration, as the fix names it: its symbol, syntax, shape and lifetime.</summary>
internal sealed class Carrier
{
    public Carrier(ISymbol member, SyntaxNode syntax, CarrierShape shape, bool persistent)
    {
        Member = member;
        Syntax = syntax;
        Shape = shape;
        Persistent = persistent;
    }

    public string Name => Member.Name;

    public ISymbol Member { get; }

    /// <summary>The target expression of the store (<c>h</c>, <c>this.state</c>, <c>states[key]</c>).</summary>
    public SyntaxNode Syntax { get; }

    public CarrierShape Shape { get; }

    /// <summary>The place outlives one call of the method (a field, property, ref parameter or captured local).</summary>
    public bool Persistent { get; }
}

/// <summary>
/// A graph-attached state value: which module returned it, which tuple elements of the value are state
/// (<see cref="AllParts"/>: the whole value), the last store into a named place (<see cref="Origin"/>, <see cref="Carrier"/>)
/// and its <see cref="StateAge"/>.
/// </summary>
internal sealed class Taint : IEquatable<Taint>
{
    /// <summary>Every element: the value itself is the state.</summary>
    public const int AllParts = -1;

    public Taint(IOperation? origin, Carrier? carrier, string module, int parts, StateAge age)
    {
        Origin = origin;
        Carrier = carrier;
        Module = module;
        Parts = parts;
        Age = age;
    }

    public IOperation? Origin { get; }

    public Carrier? Carrier { get; }

    public string Module { get; }

    /// <summary>A bit per tuple element that holds state, or <see cref="AllParts"/>.</summary>
    public int Parts { get; }

    public StateAge Age { get; }

    public Taint AfterBackward() => Age == StateAge.AcrossBackward ? this : new Taint(Origin, Carrier, Module, Parts, StateAge.AcrossBackward);

    public Taint WithParts(int parts) => parts == Parts ? this : new Taint(Origin, Carrier, Module, parts, Age);

    public Taint StoredIn(IOperation origin, Carrier carrier) => new(origin, carrier, Module, Parts, Age);

    /// <summary>The state taints of element <paramref name="index"/> of a tuple value.</summary>
    public static ImmutableHashSet<Taint> Element(ImmutableHashSet<Taint> value, int index) =>
        value.Where(t => t.Parts == AllParts || (t.Parts & (1 << index)) != 0).Select(t => t.WithParts(AllParts)).ToImmutableHashSet();

    public bool Equals(Taint? other) =>
        other is not null && ReferenceEquals(Origin, other.Origin) && ReferenceEquals(Carrier, other.Carrier)
        && Module == other.Module && Parts == other.Parts && Age == other.Age;

    public override bool Equals(object? obj) => Equals(obj as Taint);

    public override int GetHashCode()
    {
        unchecked
        {
            var hash = Origin is null ? 0 : Origin.GetHashCode();
            hash = (hash * 397) ^ (Carrier is null ? 0 : Carrier.GetHashCode());
            hash = (hash * 397) ^ Module.GetHashCode();
            return (hash * 397) ^ (Parts * 2) ^ (int)Age;
        }
    }
}

/// <summary>The lattice element: for each place, the taints it may hold. Join is the union per place.</summary>
internal sealed class FlowState
{
    public static readonly FlowState Empty = new(ImmutableDictionary.Create<Place, ImmutableHashSet<Taint>>());

    public FlowState(ImmutableDictionary<Place, ImmutableHashSet<Taint>> places)
    {
        Places = places;
    }

    public ImmutableDictionary<Place, ImmutableHashSet<Taint>> Places { get; }

    public FlowState Join(FlowState other)
    {
        var merged = Places;
        foreach (var pair in other.Places)
        {
            merged = merged.SetItem(pair.Key, merged.TryGetValue(pair.Key, out var existing) ? existing.Union(pair.Value) : pair.Value);
        }

        return new FlowState(merged);
    }

    public bool SameAs(FlowState other) =>
        Places.Count == other.Places.Count
        && Places.All(pair => other.Places.TryGetValue(pair.Key, out var taints) && taints.SetEquals(pair.Value));
}

/// <summary>A store that carries graph-attached state into a later iteration, and the places it was stored in.</summary>
internal sealed class CarriedState
{
    public CarriedState(IOperation origin, string module)
    {
        Origin = origin;
        Module = module;
    }

    /// <summary>The store (assignment, deconstruction) that put the state where a later iteration feeds it back.</summary>
    public IOperation Origin { get; }

    public string Module { get; }

    public List<Carrier> Carriers { get; } = new();
}
