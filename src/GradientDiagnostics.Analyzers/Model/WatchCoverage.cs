using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>Where a <c>PackedSequence</c> handed to a recurrent module comes from, as far as one compilation shows.</summary>
internal enum PackedInputOrigin
{
    /// <summary>From <c>GradientWatch.TrackInput</c> on some path: the watch may see it.</summary>
    Tracked,

    /// <summary>Built here without <c>TrackInput</c> on every path (a packing call, another module's packed output).</summary>
    Untracked,

    /// <summary>From somewhere this compilation cannot follow (a parameter, a field set elsewhere, a method's result).</summary>
    Unknown,
}

/// <summary>
/// What the runtime watch (GradientDiagnostics.Runtime's <c>GradientWatch</c>) can see in a compilation that references it:
/// the watch's type, where a packed input comes from, the watches in scope at a point, and the name a module's tracked
/// input should carry so that its profile lines up with the module (the module's <c>named_modules()</c> name).
/// </summary>
internal sealed class WatchCoverage
{
    public const string RuntimeAssemblyName = "GradientDiagnostics.Runtime";

    private static readonly string[] TrackInputNames = ["TrackInput"];

    private readonly TrainingProgram program;
    private readonly Lazy<INamedTypeSymbol?> watchType;
    private readonly object gate = new();
    private bool? tracksAnyInput;

    public WatchCoverage(TrainingProgram program)
    {
        this.program = program;
        watchType = new Lazy<INamedTypeSymbol?>(
            () => program.Compilation.SourceModule.ReferencedAssemblySymbols
                .FirstOrDefault(assembly => assembly.Name == RuntimeAssemblyName)?
                .GetTypeByMetadataName("GradientDiagnostics.GradientWatch"),
            LazyThreadSafetyMode.PublicationOnly);
    }

    /// <summary><c>GradientDiagnostics.GradientWatch</c>, looked up in the runtime assembly; null when the compilation does not reference it.</summary>
    public INamedTypeSymbol? WatchType => watchType.Value;

    public bool IsWatch(ITypeSymbol? type) => type is not null && WatchType is { } watch && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, watch);

    public bool IsTrackInput(IMethodSymbol method) => method.Name == "TrackInput" && IsWatch(method.ContainingType);

    /// <summary>
    /// True when some code of the compilation calls <c>GradientWatch.TrackInput</c>: a packed input of unknown origin (a
    /// model's forward parameter) may then have been tracked by its caller. Read from the files that name it, once.
    /// </summary>
    public bool TracksAnyInput(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (tracksAnyInput is { } known)
            {
                return known;
            }
        }

        var found = program.BodiesMentioning(TrackInputNames, TrackInputNames, cancellationToken)
            .Any(body => body.Invocations().Any(invocation => IsTrackInput(invocation.TargetMethod)));
        lock (gate)
        {
            tracksAnyInput = found;
        }

        return found;
    }

    /// <summary>Where <paramref name="value"/> comes from: through conditionals, locals of its body, and fields and properties of its type.</summary>
    public PackedInputOrigin OriginOf(IOperation value, CancellationToken cancellationToken) =>
        OriginOf(value, value.Root(), new HashSet<ISymbol>(SymbolEqualityComparer.Default), cancellationToken);

    /// <summary>
    /// The locals, parameters, and fields and properties of the enclosing type (or its bases) of type <c>GradientWatch</c>
    /// that code at <paramref name="operation"/> can use by their simple name; a local must be declared before it.
    /// </summary>
    public ImmutableArray<ISymbol> WatchesInScope(IOperation operation, ISymbol member)
    {
        if (WatchType is null || operation.SemanticModel is not { } model)
        {
            return ImmutableArray<ISymbol>.Empty;
        }

        var position = operation.Syntax.SpanStart;
        var type = member.ContainingType;
        return model.LookupSymbols(position)
            .Where(symbol => IsWatch(symbol.DeclaredType()) && symbol switch
            {
                ILocalSymbol local => local.DeclaringSyntaxReferences.All(reference => reference.Span.End <= position),
                IParameterSymbol => true,
                IFieldSymbol or IPropertySymbol => (symbol.IsStatic || !member.IsStatic) && IsSameOrBase(symbol.ContainingType, type),
                _ => false,
            })
            .ToImmutableArray();
    }

    /// <summary>
    /// The name to track a module's input under: the name TorchSharp registers the module by in its model — a constant
    /// passed to <c>register_module</c> with it in a constructor, a field's <c>[ComponentName]</c>, else the member's name.
    /// (TorchSharp registers an auto-property under its backing field's name; its property name is the readable choice,
    /// and the watch then matches the tracked input to the module by input size.)
    /// </summary>
    public string ProfileName(ISymbol module, CancellationToken cancellationToken)
    {
        if (module is IFieldSymbol or IPropertySymbol && module.ContainingType is { } type)
        {
            foreach (var constructor in type.InstanceConstructors)
            {
                foreach (var body in program.Bodies.Of(constructor, cancellationToken))
                {
                    if (RegisteredName(body, module) is { } registered)
                    {
                        return registered;
                    }
                }
            }
        }

        var componentName = module.GetAttributes()
            .Where(attribute => attribute.AttributeClass is { Name: "ComponentNameAttribute" } attributeClass && attributeClass.ContainingNamespace?.ToDisplayString() == "TorchSharp.Utils")
            .SelectMany(attribute => attribute.NamedArguments)
            .FirstOrDefault(argument => argument.Key == "Name").Value.Value as string;
        return string.IsNullOrEmpty(componentName) ? module.Name : componentName!;
    }

    private string? RegisteredName(IOperation body, ISymbol module) =>
        body.Invocations()
            .Where(invocation => invocation.TargetMethod.Name == "register_module" && program.Symbols.IsModule(invocation.TargetMethod.ContainingType) && invocation.Arguments.Length == 2)
            .Where(invocation => SymbolEqualityComparer.Default.Equals(invocation.Arguments[1].Value.ReferencedSymbol(), module))
            .Select(invocation => invocation.Arguments[0].Value.ConstantValue is { HasValue: true, Value: string name } && name.Length > 0 ? name : null)
            .FirstOrDefault(name => name is not null);

    private PackedInputOrigin OriginOf(IOperation value, IOperation root, HashSet<ISymbol> visited, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var operation = value.WithoutConversions();
        switch (operation)
        {
            case IInvocationOperation invocation when IsTrackInput(invocation.TargetMethod):
                return PackedInputOrigin.Tracked;
            case IInvocationOperation invocation when program.Symbols.IsPacking(invocation.TargetMethod) || IsRecurrentLayerCall(invocation):
                return PackedInputOrigin.Untracked;
            case IConditionalOperation { WhenFalse: { } whenFalse } conditional:
                return Combine(OriginOf(conditional.WhenTrue, root, visited, cancellationToken), OriginOf(whenFalse, root, visited, cancellationToken));
            case ICoalesceOperation coalesce:
                return Combine(OriginOf(coalesce.Value, root, visited, cancellationToken), OriginOf(coalesce.WhenNull, root, visited, cancellationToken));
            case IFieldReferenceOperation { Instance: { } tuple } element when element.Field.TupleElementIndex() == 0:
                // `lstm.call(packed).Item1`: the packed output of another module, which no watch has seen either.
                return IsRecurrentLayerCall(tuple.WithoutConversions()) ? PackedInputOrigin.Untracked : PackedInputOrigin.Unknown;
        }

        return operation.ReferencedSymbol() is { } symbol ? OriginOf(symbol, root, visited, cancellationToken) : PackedInputOrigin.Unknown;
    }

    private PackedInputOrigin OriginOf(ISymbol symbol, IOperation root, HashSet<ISymbol> visited, CancellationToken cancellationToken)
    {
        if (!visited.Add(symbol))
        {
            // A value assigned from itself adds nothing to what its other assignments say.
            return PackedInputOrigin.Untracked;
        }

        IEnumerable<IOperation> bodies = symbol switch
        {
            ILocalSymbol => [root],
            IFieldSymbol or IPropertySymbol when symbol.ContainingType is { } type && !type.DeclaringSyntaxReferences.IsEmpty =>
                type.GetMembers().OfType<IMethodSymbol>().SelectMany(method => program.Bodies.Of(method, cancellationToken)).ToList(),
            _ => [],
        };

        var origin = (PackedInputOrigin?)null;
        foreach (var body in bodies)
        {
            foreach (var (target, assigned) in AssignedValues.All(body))
            {
                if (SymbolEqualityComparer.Default.Equals(target, symbol))
                {
                    var next = assigned.Kind switch
                    {
                        AssignmentKind.Deconstruction => assigned.Element == 0 && IsRecurrentLayerCall(assigned.Value.WithoutConversions()) ? PackedInputOrigin.Untracked : PackedInputOrigin.Unknown,
                        AssignmentKind.ForEach or AssignmentKind.Pattern => PackedInputOrigin.Unknown,
                        _ => OriginOf(assigned.Value, body, visited, cancellationToken),
                    };
                    origin = origin is { } known ? Combine(known, next) : next;
                }
            }
        }

        return origin ?? PackedInputOrigin.Unknown;
    }

    /// <summary>Tracked on any path wins (the watch may see it); otherwise one path the compilation cannot follow makes it unknown.</summary>
    private static PackedInputOrigin Combine(PackedInputOrigin first, PackedInputOrigin second) =>
        first == PackedInputOrigin.Tracked || second == PackedInputOrigin.Tracked ? PackedInputOrigin.Tracked
        : first == PackedInputOrigin.Unknown || second == PackedInputOrigin.Unknown ? PackedInputOrigin.Unknown
        : PackedInputOrigin.Untracked;

    private bool IsRecurrentLayerCall(IOperation operation) =>
        operation is IInvocationOperation invocation
        && program.Symbols.IsModuleInvocation(invocation.TargetMethod)
        && program.Symbols.IsRecurrentLayer(invocation.Receiver()?.Type);

    private static bool IsSameOrBase(INamedTypeSymbol? candidate, INamedTypeSymbol? type)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, candidate?.OriginalDefinition))
            {
                return true;
            }
        }

        return false;
    }
}
