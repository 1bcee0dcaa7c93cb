using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Which models are recurrent (DESIGN.md: they contain <c>nn.RNN/LSTM/GRU</c> or a cell, directly, through fields and
/// properties of their type, or called inside the step), and which model a training step trains: the one the optimizer's
/// parameters come from.
/// </summary>
internal sealed class RecurrentModels
{
    private const int MaxResolutionDepth = 3;

    private readonly TrainingProgram program;
    private readonly SourceBodies bodies;
    private readonly HelperReach reach;
    private readonly ConcurrentDictionary<ITypeSymbol, bool> recurrentTypes = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<ISymbol, ImmutableArray<IOperation>> memberValues = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<(SyntaxTree Tree, int Start), ILookup<ISymbol, IOperation>> bodyValues = new();
    private readonly System.Lazy<ImmutableArray<INamedTypeSymbol>> sourceModuleTypes;

    public RecurrentModels(Compilation compilation, TrainingProgram program, SourceBodies bodies, HelperReach reach)
    {
        this.program = program;
        this.bodies = bodies;
        this.reach = reach;
        sourceModuleTypes = new(() => SourceModuleTypes(compilation), LazyThreadSafetyMode.PublicationOnly);
    }

    private TorchSharpSymbols Symbols => program.Symbols;

    /// <summary>
    /// True when the type is a TorchSharp recurrent module, a module whose fields/properties (transitively, through source
    /// types and generic arguments such as <c>ModuleList&lt;LSTM&gt;</c>) hold one, an abstract module type every concrete
    /// subclass of which in the compilation is recurrent, or a type parameter every type argument of which in the sources
    /// is (<see cref="TypeParameterArguments"/>). A user class merely named LSTM is not.
    /// </summary>
    public bool ContainsRecurrentModule(ITypeSymbol? type, CancellationToken cancellationToken) =>
        type is not null && recurrentTypes.GetOrAdd(type, t => Compute(t, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), cancellationToken));

    /// <summary>
    /// Whether the model a step updates is recurrent. When the optimizer's parameters can be traced to modules of known
    /// type, those decide (so an optimizer that trains only a Linear head on top of a frozen LSTM is not recurrent);
    /// otherwise a recurrent module called inside the step (directly or through source helpers) makes it recurrent.
    /// </summary>
    public bool IsRecurrent(TrainingStep step, CancellationToken cancellationToken)
    {
        var known = false;
        var unknown = false;
        foreach (var source in ModelSources(step, cancellationToken))
        {
            switch (Classify(step.Root, source, cancellationToken))
            {
                case true:
                    return true;
                case false:
                    known = true;
                    break;
                default:
                    unknown = true;
                    break;
            }
        }

        return (!known || unknown) && reach.OperationReaches(step.Scope, invocation => IsRecurrentCall(invocation, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// The type of the model a step trains, as far as the optimizer's parameters tell (a source model type rather than
    /// <c>nn.Module&lt;Tensor, Tensor&gt;</c> when what is assigned to it tells); null when they do not lead to one module.
    /// </summary>
    public INamedTypeSymbol? ModelType(TrainingStep step, CancellationToken cancellationToken) =>
        SingleModelType(step.Root, ModelSources(step, cancellationToken), cancellationToken);

    /// <summary>
    /// The type of the model whose parameters <paramref name="parameters"/> (a clip's first argument, in the body
    /// <paramref name="root"/>) are, or null when they are not one module's: <c>encoder.parameters()</c> is the encoder's,
    /// whichever optimizer steps after it.
    /// </summary>
    public INamedTypeSymbol? ModelTypeOfParameters(IOperation root, IOperation parameters, CancellationToken cancellationToken) =>
        SingleModelType(root, ParameterSources(root, parameters.WithoutConversions(), 0, cancellationToken), cancellationToken);

    private INamedTypeSymbol? SingleModelType(IOperation root, IEnumerable<IOperation> sources, CancellationToken cancellationToken)
    {
        var types = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
        foreach (var source in sources)
        {
            var type = source.Type as INamedTypeSymbol;
            if (type is null || !IsConcreteClass(type))
            {
                type = ResolveValues(root, source, cancellationToken).Select(v => v.Type).OfType<INamedTypeSymbol>().FirstOrDefault(IsConcreteClass)
                    ?? TheTypeArgument(source.Type as ITypeParameterSymbol, cancellationToken)
                    ?? type;
            }

            if (type is not null)
            {
                types.Add(type);
            }
        }

        return types.Count == 1 ? types.First() : null;
    }

    /// <summary>
    /// The expressions the optimizer's parameters were taken from: the argument of <c>optim.Adam(…)</c> / <c>new SGD(…)</c>
    /// for the optimizer instance that <c>step()</c> is called on, found through locals, fields and properties.
    /// </summary>
    public ImmutableArray<IOperation> OptimizerParameterArguments(TrainingStep step, CancellationToken cancellationToken)
    {
        var result = ImmutableArray.CreateBuilder<IOperation>();
        if (step.StepCall.Instance is null)
        {
            return result.ToImmutable();
        }

        foreach (var value in ResolveValues(step.Root, step.StepCall.Instance, cancellationToken))
        {
            var arguments = value switch
            {
                IInvocationOperation factory when factory.TargetMethod.IsStatic && Symbols.IsOptimizer(factory.TargetMethod.ReturnType) => factory.Arguments,
                IObjectCreationOperation creation when Symbols.IsOptimizer(creation.Type) => creation.Arguments,
                _ => ImmutableArray<IArgumentOperation>.Empty,
            };

            foreach (var argument in arguments)
            {
                // The parameter list, not a module handed to a user factory such as CreateOptimizer(model).
                if (argument.ArgumentKind == ArgumentKind.Explicit && argument.Parameter is { } parameter
                    && (parameter.Ordinal == 0 || parameter.Name == "parameters") && !Symbols.IsModule(parameter.Type))
                {
                    result.Add(argument.Value.WithoutConversions());
                }
            }
        }

        return result.ToImmutable();
    }

    /// <summary>A call (<c>call</c>/<c>forward</c>) of a module that contains a recurrent module.</summary>
    public bool IsRecurrentCall(IInvocationOperation invocation, CancellationToken cancellationToken) =>
        Symbols.IsModuleInvocation(invocation.TargetMethod)
        && invocation.Instance is { } instance
        && ContainsRecurrentModule(instance.WithoutConversions().Type, cancellationToken);

    /// <summary>Values assigned to the local (in this body), field or property (anywhere in its type) that <paramref name="reference"/> reads.</summary>
    public ImmutableArray<IOperation> ResolveValues(IOperation root, IOperation reference, CancellationToken cancellationToken)
    {
        reference = reference.WithoutConversions();
        switch (reference)
        {
            case ILocalReferenceOperation local:
                return ValuesAssignedIn(root, local.Local);
            case IFieldReferenceOperation field:
                return ValuesOf(field.Field, cancellationToken);
            case IPropertyReferenceOperation property when property.Property.Parameters.IsEmpty:
                return ValuesOf(property.Property, cancellationToken);
            case IObjectCreationOperation or IInvocationOperation:
                return ImmutableArray.Create(reference);
            default:
                return ImmutableArray<IOperation>.Empty;
        }
    }

    /// <summary>A generic trainer's <c>TModel</c> given one concrete model type throughout the compilation: that type.</summary>
    private INamedTypeSymbol? TheTypeArgument(ITypeParameterSymbol? parameter, CancellationToken cancellationToken) =>
        parameter is not null && program.TypeArguments.Of(parameter, cancellationToken) is { IsDefault: false, Length: 1 } arguments && IsConcreteClass(arguments[0])
            ? (INamedTypeSymbol)arguments[0]
            : null;

    private static bool IsConcreteClass(ITypeSymbol? type) => type is INamedTypeSymbol { IsAbstract: false, TypeKind: TypeKind.Class };

    /// <summary>Receivers of <c>parameters()</c>/<c>named_parameters()</c> calls in the optimizer's parameter argument.</summary>
    private IEnumerable<IOperation> ModelSources(TrainingStep step, CancellationToken cancellationToken)
    {
        foreach (var argument in OptimizerParameterArguments(step, cancellationToken))
        {
            foreach (var source in ParameterSources(step.Root, argument, 0, cancellationToken))
            {
                yield return source;
            }
        }
    }

    private IEnumerable<IOperation> ParameterSources(IOperation root, IOperation expression, int depth, CancellationToken cancellationToken)
    {
        foreach (var operation in expression.DescendantsAndSelf())
        {
            if (operation is IInvocationOperation { Instance: { } instance } invocation
                && invocation.TargetMethod.Name is "parameters" or "named_parameters"
                && Symbols.IsModule(invocation.TargetMethod.ContainingType))
            {
                yield return instance.WithoutConversions();
            }
            else if (depth < MaxResolutionDepth && operation is ILocalReferenceOperation local && !Symbols.IsModule(local.Type))
            {
                // var parameters = model.parameters().Concat(head.parameters()); optim.Adam(parameters)
                foreach (var value in ResolveValues(root, local, cancellationToken))
                {
                    foreach (var source in ParameterSources(root, value, depth + 1, cancellationToken))
                    {
                        yield return source;
                    }
                }
            }
        }
    }

    /// <summary>True/false when the module's concrete type is known to contain / not contain a recurrent module; null when it cannot be told.</summary>
    private bool? Classify(IOperation root, IOperation source, CancellationToken cancellationToken)
    {
        if (ContainsRecurrentModule(source.Type, cancellationToken))
        {
            return true;
        }

        // A model declared as nn.Module<Tensor, Tensor> (or built with nn.Sequential) is judged by what was assigned to it.
        var values = ResolveValues(root, source, cancellationToken);
        foreach (var value in values)
        {
            if (ContainsRecurrentModule(value.Type, cancellationToken)
                || value.DescendantsAndSelf().Any(v => v is IInvocationOperation or IObjectCreationOperation && Symbols.IsRecurrentModule(v.Type)))
            {
                return true;
            }
        }

        return IsConcreteClass(source.Type) || values.Any(value => IsConcreteClass(value.Type)) ? false : null;
    }

    /// <summary>Values assigned to <paramref name="target"/> in <paramref name="root"/>; every symbol's are found in one walk per body.</summary>
    private ImmutableArray<IOperation> ValuesAssignedIn(IOperation root, ISymbol target) =>
        bodyValues.GetOrAdd((root.Syntax.SyntaxTree, root.Syntax.SpanStart), _ => AssignedValues.All(root)
                .Where(pair => pair.Value.Kind is AssignmentKind.Initializer or AssignmentKind.Assignment or AssignmentKind.CoalesceAssignment)
                .ToLookup(pair => pair.Symbol, pair => pair.Value.Value.WithoutConversions(), SymbolEqualityComparer.Default))[target]
            .ToImmutableArray();

    /// <summary>Values assigned to a field or property: its initializer and assignments in any member of its type.</summary>
    private ImmutableArray<IOperation> ValuesOf(ISymbol member, CancellationToken cancellationToken) =>
        memberValues.GetOrAdd(member, m => ComputeValuesOf(m, cancellationToken));

    private ImmutableArray<IOperation> ComputeValuesOf(ISymbol member, CancellationToken cancellationToken)
    {
        var values = ImmutableArray.CreateBuilder<IOperation>();
        foreach (var reference in member.DeclaringSyntaxReferences)
        {
            var initializerSyntax = reference.GetSyntax(cancellationToken) switch
            {
                VariableDeclaratorSyntax { Initializer: { } fieldInitializer } => fieldInitializer,
                PropertyDeclarationSyntax { Initializer: { } propertyInitializer } => propertyInitializer,
                _ => null,
            };

            if (initializerSyntax is not null && bodies.Operation(initializerSyntax, cancellationToken) is ISymbolInitializerOperation initializer)
            {
                values.Add(initializer.Value.WithoutConversions());
            }
        }

        if (member.ContainingType is { } type)
        {
            foreach (var method in type.GetMembers().OfType<IMethodSymbol>())
            {
                foreach (var body in bodies.Of(method, cancellationToken))
                {
                    values.AddRange(ValuesAssignedIn(body, member));
                }
            }
        }

        return values.ToImmutable();
    }

    /// <summary>Only the answer for the type asked about is cached: answers for types met on a cycle are partial.</summary>
    private bool Compute(ITypeSymbol type, HashSet<ITypeSymbol> visiting, CancellationToken cancellationToken)
    {
        if (Symbols.IsRecurrentModule(type))
        {
            return true;
        }

        if (!visiting.Add(type))
        {
            return false;
        }

        switch (type)
        {
            case IArrayTypeSymbol array:
                return Compute(array.ElementType, visiting, cancellationToken);
            case ITypeParameterSymbol parameter:
                // A generic trainer's TModel: recurrent when every type the sources give it is, or when its constraint is. The
                // arguments go first: judging an abstract constraint (nn.Module<Tensor, Tensor>) visits every model type.
                return (program.TypeArguments.Of(parameter, cancellationToken) is { IsDefaultOrEmpty: false } arguments
                        && arguments.All(argument => Compute(argument, visiting, cancellationToken)))
                    || parameter.ConstraintTypes.Any(constraint => Compute(constraint, visiting, cancellationToken));
            case INamedTypeSymbol named:
                if (named.TypeArguments.Any(argument => Compute(argument, visiting, cancellationToken)))
                {
                    return true;
                }

                // Metadata types are judged by their own type (above): only user module types are looked into.
                for (var current = named; current is not null && !current.DeclaringSyntaxReferences.IsEmpty; current = current.BaseType)
                {
                    if (HasRecurrentMember(current, visiting, cancellationToken))
                    {
                        return true;
                    }
                }

                return named.IsAbstract && named.TypeKind == TypeKind.Class && Symbols.IsModule(named) && EverySubclassIsRecurrent(named, visiting, cancellationToken);
            default:
                return false;
        }
    }

    private bool HasRecurrentMember(INamedTypeSymbol type, HashSet<ITypeSymbol> visiting, CancellationToken cancellationToken)
    {
        foreach (var member in type.GetMembers())
        {
            var memberType = member switch
            {
                IFieldSymbol { IsStatic: false } field => field.Type,
                IPropertySymbol { IsStatic: false, IsIndexer: false } property => property.Type,
                _ => null,
            };

            if (memberType is null)
            {
                continue;
            }

            // A submodule declared as nn.Module<Tensor, Tensor> is judged by what its type assigns to it.
            if (Compute(memberType, visiting, cancellationToken)
                || (!IsConcreteClass(memberType) && Symbols.IsModule(memberType)
                    && ValuesOf(member, cancellationToken).Any(value => value.Type is { } valueType && Compute(valueType, visiting, cancellationToken))))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An abstract model type stands for its concrete subclasses: recurrent when there is one and every one is.</summary>
    private bool EverySubclassIsRecurrent(INamedTypeSymbol type, HashSet<ITypeSymbol> visiting, CancellationToken cancellationToken)
    {
        var subclasses = sourceModuleTypes.Value.Where(candidate => !candidate.IsAbstract && DerivesFrom(candidate, type)).ToList();
        return subclasses.Count > 0 && subclasses.All(subclass => Compute(subclass, visiting, cancellationToken));
    }

    private static bool DerivesFrom(INamedTypeSymbol candidate, INamedTypeSymbol type)
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

    /// <summary>The class types declared in source (declarations only, no member bodies are bound).</summary>
    private static ImmutableArray<INamedTypeSymbol> SourceModuleTypes(Compilation compilation) =>
        compilation.GetSymbolsWithName(_ => true, SymbolFilter.Type).OfType<INamedTypeSymbol>().Where(t => t.TypeKind == TypeKind.Class).ToImmutableArray();
}
