using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

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

    public bool Equals(ModuleRoot other) =>
        SymbolEqualityComparer.Default.Equals(Symbol, other.Symbol) && SymbolEqualityComparer.Default.Equals(InstanceOf, other.InstanceOf);

    public static bool operator ==(ModuleRoot left, ModuleRoot right) => left.Equals(right);

    public static bool operator !=(ModuleRoot left, ModuleRoot right) => !left.Equals(right);

    public override bool Equals(object? obj) => obj is ModuleRoot other && Equals(other);

    public override int GetHashCode() =>
        (SymbolEqualityComparer.Default.GetHashCode(Symbol) * 397) ^ SymbolEqualityComparer.Default.GetHashCode(InstanceOf);

    public override string ToString() => Symbol?.Name ?? (InstanceOf is null ? "?" : "this:" + InstanceOf.Name);
}

/// <summary>
/// Answers "which module does this parameter access belong to": follows tensor and module expressions back through
/// <c>named_parameters()</c>/<c>parameters()</c>/<c>get_parameter(...)</c>/weight properties, indexers, LINQ, foreach and
/// pattern variables, <c>apply(...)</c> callbacks and calls into source helpers (arguments bound to parameters),
/// and finds explicit initialisation (<c>torch.nn.init.*</c>, in-place init, loading weights) that reaches a given module.
/// </summary>
internal sealed class ModuleParameterOwnership
{
    /// <summary>In-place tensor methods that overwrite a parameter's values.</summary>
    public static readonly ImmutableHashSet<string> InPlaceInitMethods = ImmutableHashSet.Create(
        StringComparer.Ordinal,
        "uniform_", "normal_", "zero_", "fill_", "copy_", "random_", "bernoulli_", "log_normal_", "exponential_", "cauchy_", "geometric_", "set_");

    /// <summary>Module methods (or extension methods taking a module first) that replace the weights with stored ones.</summary>
    public static readonly ImmutableHashSet<string> LoadMethods = ImmutableHashSet.Create(
        StringComparer.Ordinal,
        "load", "load_state_dict", "load_py", "load_safetensors", "load_checkpoint");

    private readonly TorchSharpSymbols symbols;
    private readonly SourceBodies bodies;

    public ModuleParameterOwnership(TorchSharpSymbols symbols, SourceBodies bodies)
    {
        this.symbols = symbols;
        this.bodies = bodies;
    }

    /// <summary>
    /// True when <paramref name="body"/> (or a source method it calls, or an <c>apply</c> callback) explicitly initialises
    /// or loads a module for which <paramref name="isTarget"/> holds. <paramref name="thisRoot"/> is what <c>this</c> means in the body.
    /// <paramref name="isTarget"/> sees every initialised module in order, so a caller can also use it to collect them (returning false).
    /// </summary>
    public bool ReachesInitialization(
        IOperation body,
        INamedTypeSymbol? containingType,
        ModuleRoot thisRoot,
        Func<ModuleRoot, bool> isTarget,
        ImmutableArray<string> initMethods,
        CancellationToken cancellationToken,
        int maxDepth = HelperReach.DefaultMaxDepth)
    {
        var scope = new Scope(body, thisRoot, new Dictionary<IParameterSymbol, ModuleRoot>(SymbolEqualityComparer.Default), containingType);
        var stack = new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default);
        return Scan(scope, isTarget, initMethods, maxDepth, stack, cancellationToken);
    }

    /// <summary>The module <paramref name="value"/> belongs to, as seen from <paramref name="body"/> where <c>this</c> is <paramref name="thisRoot"/>.</summary>
    public ModuleRoot Resolve(IOperation value, IOperation body, ModuleRoot thisRoot)
    {
        var scope = new Scope(body, thisRoot, new Dictionary<IParameterSymbol, ModuleRoot>(SymbolEqualityComparer.Default), containingType: null);
        return Resolve(value, scope, NewLocalSet());
    }

    private bool Scan(Scope scope, Func<ModuleRoot, bool> isTarget, ImmutableArray<string> initMethods, int depth, HashSet<IMethodSymbol> stack, CancellationToken cancellationToken)
    {
        var callbacks = BindApplyCallbacks(scope);
        foreach (var operation in scope.Body.DescendantsAndSelf())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (operation is ISimpleAssignmentOperation assignment && AssignsModuleParameter(assignment, scope, isTarget))
            {
                return true;
            }

            if (operation is not IInvocationOperation invocation)
            {
                continue;
            }

            if (InitializationRoots(invocation, scope, initMethods).Any(isTarget))
            {
                return true;
            }

            if (depth > 0 && FollowsCall(invocation, scope, isTarget, initMethods, depth, stack, cancellationToken))
            {
                return true;
            }
        }

        foreach (var (method, parameterRoot) in callbacks)
        {
            if (depth > 0 && ScanMethod(method, method.IsStatic ? ModuleRoot.Unknown : scope.This, [(method.Parameters[0], parameterRoot)], isTarget, initMethods, depth - 1, stack, cancellationToken))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Binds the parameter of each <c>module.apply(m => ...)</c> lambda to the module, and returns method-group callbacks to scan.</summary>
    private List<(IMethodSymbol Method, ModuleRoot Root)> BindApplyCallbacks(Scope scope)
    {
        var methodGroups = new List<(IMethodSymbol, ModuleRoot)>();
        foreach (var invocation in scope.Body.DescendantsAndSelf().OfType<IInvocationOperation>())
        {
            if (invocation.TargetMethod.Name != "apply" || !symbols.IsModule(invocation.TargetMethod.ContainingType) || invocation.Arguments.Length != 1)
            {
                continue;
            }

            var receiver = invocation.Instance is null ? ModuleRoot.Unknown : Resolve(invocation.Instance, scope, NewLocalSet());
            switch (Unwrap(invocation.Arguments[0].Value))
            {
                case IDelegateCreationOperation { Target: IAnonymousFunctionOperation lambda } when lambda.Symbol.Parameters.Length == 1:
                    scope.Parameters[lambda.Symbol.Parameters[0]] = receiver;
                    break;
                case IDelegateCreationOperation { Target: IMethodReferenceOperation reference } when reference.Method.Parameters.Length == 1:
                    methodGroups.Add((reference.Method, receiver));
                    break;
            }
        }

        return methodGroups;
    }

    private bool FollowsCall(IInvocationOperation invocation, Scope scope, Func<ModuleRoot, bool> isTarget, ImmutableArray<string> initMethods, int depth, HashSet<IMethodSymbol> stack, CancellationToken cancellationToken)
    {
        var target = invocation.TargetMethod;
        if (!target.OriginalDefinition.Locations.Any(location => location.IsInSource))
        {
            return false;
        }

        // A base(...) constructor runs before the derived constructor creates its modules, so what it initialises is not them.
        if (target.MethodKind == MethodKind.Constructor && !SymbolEqualityComparer.Default.Equals(target.ContainingType, scope.ContainingType))
        {
            return false;
        }

        var calleeThis = target.IsStatic || invocation.Instance is null ? ModuleRoot.Unknown : Resolve(invocation.Instance, scope, NewLocalSet());
        var arguments = invocation.Arguments
            .Where(argument => argument.Parameter is not null)
            .Select(argument => (argument.Parameter!, Resolve(argument.Value, scope, NewLocalSet())))
            .ToList();
        return ScanMethod(target, calleeThis, arguments, isTarget, initMethods, depth - 1, stack, cancellationToken);
    }

    private bool ScanMethod(
        IMethodSymbol method,
        ModuleRoot thisRoot,
        IReadOnlyList<(IParameterSymbol Parameter, ModuleRoot Root)> arguments,
        Func<ModuleRoot, bool> isTarget,
        ImmutableArray<string> initMethods,
        int depth,
        HashSet<IMethodSymbol> stack,
        CancellationToken cancellationToken)
    {
        if (!stack.Add(method.OriginalDefinition))
        {
            return false;
        }

        try
        {
            foreach (var body in bodies.Of(method, cancellationToken))
            {
                var parameters = new Dictionary<IParameterSymbol, ModuleRoot>(SymbolEqualityComparer.Default);
                foreach (var (parameter, root) in arguments)
                {
                    parameters[parameter.OriginalDefinition] = root;
                }

                if (Scan(new Scope(body, thisRoot, parameters, method.ContainingType), isTarget, initMethods, depth, stack, cancellationToken))
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            stack.Remove(method.OriginalDefinition);
        }
    }

    /// <summary>The modules an invocation initialises or loads: nn.init.* (its tensor), in-place init (its receiver), load (its module), configured init methods (their arguments).</summary>
    private IEnumerable<ModuleRoot> InitializationRoots(IInvocationOperation invocation, Scope scope, ImmutableArray<string> initMethods)
    {
        var method = invocation.TargetMethod;
        if (symbols.IsNnInit(method))
        {
            if (invocation.Arguments.Length > 0)
            {
                foreach (var root in ResolveAll(invocation.Arguments[0].Value, scope))
                {
                    yield return root;
                }
            }

            yield break;
        }

        if (InPlaceInitMethods.Contains(method.Name) && symbols.IsTensor(method.ContainingType) && invocation.Instance is not null)
        {
            foreach (var root in ResolveAll(invocation.Instance, scope))
            {
                yield return root;
            }
            yield break;
        }

        if (LoadMethods.Contains(method.Name))
        {
            if (!method.IsStatic && symbols.IsModule(method.ContainingType) && invocation.Instance is not null)
            {
                foreach (var root in ResolveAll(invocation.Instance, scope))
                {
                    yield return root;
                }
            }
            else if (method.IsExtensionMethod && invocation.Arguments.Length > 0 && symbols.IsModule(invocation.Arguments[0].Value.Type))
            {
                foreach (var root in ResolveAll(invocation.Arguments[0].Value, scope))
                {
                    yield return root;
                }
            }

            yield break;
        }

        if (GradientDiagnosticsOptions.Matches(method, initMethods))
        {
            var any = false;
            if (invocation.Instance is not null)
            {
                any = true;
                foreach (var root in ResolveAll(invocation.Instance, scope))
                {
                    yield return root;
                }
            }

            foreach (var argument in invocation.Arguments.Where(a => symbols.IsModule(a.Value.Type) || symbols.IsTensor(a.Value.Type)))
            {
                any = true;
                foreach (var root in ResolveAll(argument.Value, scope))
                {
                    yield return root;
                }
            }

            // A configured init method called without a module or tensor initialises the object it is called from.
            if (!any)
            {
                yield return scope.This;
            }
        }
    }

    /// <summary><c>cell.weight_hh = new Parameter(...)</c>: replacing a module's parameter is explicit initialisation.</summary>
    private bool AssignsModuleParameter(ISimpleAssignmentOperation assignment, Scope scope, Func<ModuleRoot, bool> isTarget) =>
        assignment.Target is IPropertyReferenceOperation { Instance: { } instance } property
        && symbols.IsTensor(property.Type)
        && symbols.IsModule(property.Property.ContainingType)
        && ResolveAll(instance, scope).Any(isTarget);

    private ModuleRoot Resolve(IOperation? value, Scope scope, HashSet<ILocalSymbol> visitedLocals)
    {
        foreach (var root in Roots(value, scope, visitedLocals))
        {
            if (root.IsKnown)
            {
                return root;
            }
        }

        return ModuleRoot.Unknown;
    }

    /// <summary>
    /// Every module <paramref name="value"/> may belong to. Usually one; an inline array or collection of modules
    /// (<c>foreach (var gru in new[] { encoder, decoder })</c>) belongs to each of its elements.
    /// </summary>
    private List<ModuleRoot> ResolveAll(IOperation? value, Scope scope)
    {
        var roots = Roots(value, scope, NewLocalSet()).Where(root => root.IsKnown).Distinct().ToList();
        return roots.Count == 0 ? [ModuleRoot.Unknown] : roots;
    }

    private IEnumerable<ModuleRoot> Roots(IOperation? value, Scope scope, HashSet<ILocalSymbol> visitedLocals)
    {
        switch (value)
        {
            case null:
                return [ModuleRoot.Unknown];
            case IConversionOperation conversion:
                return Roots(conversion.Operand, scope, visitedLocals);
            case IParenthesizedOperation parenthesized:
                return Roots(parenthesized.Operand, scope, visitedLocals);
            case IInstanceReferenceOperation:
                return [scope.This];
            case IParameterReferenceOperation parameter:
                return [scope.Parameters.TryGetValue(parameter.Parameter.OriginalDefinition, out var bound)
                    ? bound
                    : ModuleRoot.Of(parameter.Parameter)];
            case IFieldReferenceOperation field:
                return [ModuleRoot.Of(field.Field)];
            case IPropertyReferenceOperation property:
                // Indexers (p[TensorIndex.Slice(...)]) and TorchSharp's own properties (cell.weight_hh) belong to their receiver;
                // a property declared in source that holds a module is itself the storage.
                return property.Property.IsIndexer || !IsDeclaredInSource(property.Property)
                    ? Roots(property.Instance, scope, visitedLocals)
                    : [ModuleRoot.Of(property.Property)];
            case IArrayElementReferenceOperation element:
                return Roots(element.ArrayReference, scope, visitedLocals);
            case IInvocationOperation invocation:
                return ResolveInvocation(invocation, scope, visitedLocals);
            case ILocalReferenceOperation local:
                return ResolveLocal(local.Local, scope, visitedLocals);
            case IArrayCreationOperation { Initializer: { } initializer }:
                return ElementRoots(initializer.ElementValues, scope, visitedLocals);
            case { Syntax: CollectionExpressionSyntax }:
                // Roslyn 4.8 has no public operation for [a, b]; its elements are the child operations.
                return ElementRoots(value.ChildOperations, scope, visitedLocals);
            case IObjectCreationOperation { Initializer: { } initializer }:
                // new List<Module> { a, b }: each Add(...) call names an element.
                return ElementRoots(
                    initializer.Initializers.OfType<IInvocationOperation>().Where(add => add.Arguments.Length == 1).Select(add => add.Arguments[0].Value),
                    scope,
                    visitedLocals);
            default:
                return [ModuleRoot.Unknown];
        }
    }

    private List<ModuleRoot> ElementRoots(IEnumerable<IOperation> elements, Scope scope, HashSet<ILocalSymbol> visitedLocals)
    {
        var roots = elements.SelectMany(element => Roots(element, scope, visitedLocals)).Where(root => root.IsKnown).ToList();
        return roots.Count == 0 ? [ModuleRoot.Unknown] : roots;
    }

    private IEnumerable<ModuleRoot> ResolveInvocation(IInvocationOperation invocation, Scope scope, HashSet<ILocalSymbol> visitedLocals)
    {
        var method = invocation.TargetMethod;

        // Tensor and module methods (named_parameters, parameters, get_parameter, get_weight_hh, narrow, view, modules …) keep the owner.
        if (!method.IsStatic && invocation.Instance is not null && (symbols.IsModule(method.ContainingType) || symbols.IsTensor(method.ContainingType)))
        {
            return Roots(invocation.Instance, scope, visitedLocals);
        }

        // LINQ over a parameter sequence (Where, Select, ToList, First …) keeps the owner of the sequence.
        if (method.IsExtensionMethod && invocation.Arguments.Length > 0 && method.ContainingNamespace?.ToDisplayString() == "System.Linq")
        {
            return Roots(invocation.Arguments[0].Value, scope, visitedLocals);
        }

        return [ModuleRoot.Unknown];
    }

    private List<ModuleRoot> ResolveLocal(ILocalSymbol local, Scope scope, HashSet<ILocalSymbol> visitedLocals)
    {
        var holdsModule = symbols.IsModule(local.Type);
        if (!visitedLocals.Add(local))
        {
            return [holdsModule ? ModuleRoot.Of(local) : ModuleRoot.Unknown];
        }

        foreach (var definition in Definitions(local, scope.Body))
        {
            var roots = Roots(definition, scope, visitedLocals).Where(root => root.IsKnown).ToList();
            if (roots.Count > 0)
            {
                return roots;
            }
        }

        // A local that holds a module created here (var rnn = nn.RNN(...)) is itself the storage of that module.
        return [holdsModule ? ModuleRoot.Of(local) : ModuleRoot.Unknown];
    }

    /// <summary>The expressions a local's value comes from: its initialiser, assignments, the collection of the foreach declaring it, the value a pattern matched.</summary>
    private IEnumerable<IOperation> Definitions(ILocalSymbol local, IOperation body)
    {
        foreach (var operation in body.DescendantsAndSelf())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation declarator when SymbolEqualityComparer.Default.Equals(declarator.Symbol, local):
                    if (declarator.GetVariableInitializer() is { } initializer)
                    {
                        yield return initializer.Value;
                    }

                    break;
                case ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } assignment when SymbolEqualityComparer.Default.Equals(target.Local, local):
                    yield return assignment.Value;
                    break;
                case IDeconstructionAssignmentOperation deconstruction when DeclaresLocal(deconstruction.Target, local):
                    yield return deconstruction.Value;
                    break;
                case IForEachLoopOperation loop when loop.Locals.Contains(local, SymbolEqualityComparer.Default):
                    yield return loop.Collection;
                    break;
                case IDeclarationPatternOperation pattern when SymbolEqualityComparer.Default.Equals(pattern.DeclaredSymbol, local):
                    if (MatchedValue(pattern) is { } matched && !ExcludesRecurrentModules(pattern.MatchedType))
                    {
                        yield return matched;
                    }

                    break;
            }
        }
    }

    private static bool DeclaresLocal(IOperation target, ILocalSymbol local) =>
        target.DescendantsAndSelf().OfType<ILocalReferenceOperation>().Any(reference => SymbolEqualityComparer.Default.Equals(reference.Local, local));

    /// <summary>The value tested by <c>x is RNN r</c>, <c>case RNN r:</c> or a switch-expression arm.</summary>
    private static IOperation? MatchedValue(IPatternOperation pattern)
    {
        IOperation? current = pattern;
        while (current?.Parent is IPatternOperation)
        {
            current = current.Parent;
        }

        return current?.Parent switch
        {
            IIsPatternOperation isPattern => isPattern.Value,
            IPatternCaseClauseOperation { Parent: ISwitchCaseOperation { Parent: ISwitchOperation switchStatement } } => switchStatement.Value,
            ISwitchExpressionArmOperation { Parent: ISwitchExpressionOperation switchExpression } => switchExpression.Value,
            _ => null,
        };
    }

    /// <summary><c>m is Linear l</c> selects a module that is not recurrent, so what is done to <c>l</c> does not reach an RNN.</summary>
    private bool ExcludesRecurrentModules(ITypeSymbol? matchedType) =>
        matchedType is not null
        && symbols.IsModule(matchedType)
        && matchedType.ContainingNamespace?.ToDisplayString() == "TorchSharp.Modules"
        && !symbols.IsRecurrentModule(matchedType);

    private static bool IsDeclaredInSource(ISymbol symbol) => symbol.Locations.Any(location => location.IsInSource);

    private static HashSet<ILocalSymbol> NewLocalSet() => new(SymbolEqualityComparer.Default);

    private static IOperation Unwrap(IOperation operation)
    {
        while (operation is IConversionOperation conversion)
        {
            operation = conversion.Operand;
        }

        return operation;
    }

    private sealed class Scope
    {
        public Scope(IOperation body, ModuleRoot @this, Dictionary<IParameterSymbol, ModuleRoot> parameters, INamedTypeSymbol? containingType)
        {
            Body = body;
            This = @this;
            Parameters = parameters;
            ContainingType = containingType;
        }

        public IOperation Body { get; }

        public ModuleRoot This { get; }

        public Dictionary<IParameterSymbol, ModuleRoot> Parameters { get; }

        public INamedTypeSymbol? ContainingType { get; }
    }
}
