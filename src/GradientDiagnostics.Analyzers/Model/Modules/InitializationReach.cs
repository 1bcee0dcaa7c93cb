using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Finds explicit initialisation that reaches a module: <c>torch.nn.init.*</c>, in-place init (<c>uniform_</c>, <c>zero_</c>,
/// <c>copy_</c> …), a replaced parameter, a configured init method, or a load of stored weights — in a body, its <c>apply</c>
/// callbacks and the source helpers it calls (arguments bound to parameters). A load counts only where it always runs: not
/// behind a condition, in a loop or callback, or in a helper reached that way (DESIGN.md: an optional load does not make a
/// run from scratch safe). Initialisation inside an init loop's name tests is initialisation.
/// </summary>
internal sealed class InitializationReach
{
    /// <summary>In-place tensor methods that overwrite a parameter's values.</summary>
    public static readonly ImmutableHashSet<string> InPlaceInitMethods = ImmutableHashSet.Create(
        StringComparer.Ordinal,
        "uniform_", "normal_", "zero_", "fill_", "copy_", "random_", "bernoulli_", "log_normal_", "exponential_", "cauchy_", "geometric_", "set_");

    /// <summary>Module methods (or extension methods taking a module first) that replace the weights with stored ones.</summary>
    public static readonly ImmutableHashSet<string> LoadMethods = ImmutableHashSet.Create(
        StringComparer.Ordinal,
        "load", "load_state_dict", "load_py", "load_safetensors", "load_checkpoint");

    private readonly TrainingProgram program;
    private readonly SourceBodies bodies;
    private readonly ModuleRoots roots;

    public InitializationReach(TrainingProgram program)
    {
        this.program = program;
        bodies = program.Bodies;
        roots = new ModuleRoots(program);
    }

    /// <summary>
    /// True when <paramref name="body"/> (or a source method it calls, or an <c>apply</c> callback) explicitly initialises
    /// or always loads a module for which <paramref name="isTarget"/> holds. <paramref name="thisRoot"/> is what <c>this</c>
    /// means in the body. <paramref name="isTarget"/> sees every initialised module in order, so a caller can also use it to
    /// collect them (returning false). Only operations at or after <paramref name="from"/>, when given, count.
    /// </summary>
    public bool Reaches(
        IOperation body,
        INamedTypeSymbol? containingType,
        ModuleRoot thisRoot,
        Func<ModuleRoot, bool> isTarget,
        ImmutableArray<string> initMethods,
        CancellationToken cancellationToken,
        IOperation? from = null,
        int maxDepth = HelperReach.DefaultMaxDepth)
    {
        var scope = new ModuleScope(body, thisRoot, new Dictionary<IParameterSymbol, ModuleRoot>(SymbolEqualityComparer.Default), containingType);
        var search = new Search(this, isTarget, initMethods, cancellationToken);
        return search.Scan(scope, conditional: false, maxDepth, from?.Syntax.SpanStart ?? 0);
    }

    /// <summary>The module <paramref name="value"/> belongs to, as seen from <paramref name="body"/> where <c>this</c> is <paramref name="thisRoot"/>.</summary>
    public ModuleRoot Resolve(IOperation value, IOperation body, ModuleRoot thisRoot) =>
        roots.Resolve(value, new ModuleScope(body, thisRoot, new Dictionary<IParameterSymbol, ModuleRoot>(SymbolEqualityComparer.Default), containingType: null));

    /// <summary>True when reaching <paramref name="operation"/> from <paramref name="body"/> depends on a condition: a branch, a loop, a callback, a handler.</summary>
    private static bool RunsConditionally(IOperation operation, IOperation body) => operation.ConditionsWithin(body).Any();

    /// <summary>One search for initialisation of the target modules, following calls up to a depth.</summary>
    private sealed class Search
    {
        private readonly InitializationReach owner;
        private readonly Func<ModuleRoot, bool> isTarget;
        private readonly ImmutableArray<string> initMethods;
        private readonly CancellationToken cancellationToken;
        private readonly HashSet<IMethodSymbol> stack = new(SymbolEqualityComparer.Default);

        public Search(InitializationReach owner, Func<ModuleRoot, bool> isTarget, ImmutableArray<string> initMethods, CancellationToken cancellationToken)
        {
            this.owner = owner;
            this.isTarget = isTarget;
            this.initMethods = initMethods;
            this.cancellationToken = cancellationToken;
        }

        private TorchSharpSymbols Symbols => owner.program.Symbols;

        public bool Scan(ModuleScope scope, bool conditional, int depth, int from = 0)
        {
            var callbacks = BindApplyCallbacks(scope);
            foreach (var operation in scope.Body.DescendantsAndSelf())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (operation.Syntax.SpanStart < from)
                {
                    continue;
                }

                if (operation is ISimpleAssignmentOperation assignment && AssignsModuleParameter(assignment, scope))
                {
                    return true;
                }

                if (operation is not IInvocationOperation invocation)
                {
                    continue;
                }

                var atCondition = conditional || RunsConditionally(invocation, scope.Body);
                if (InitializationRoots(invocation, scope, atCondition).Any(isTarget)
                    || (depth > 0 && FollowsCall(invocation, scope, atCondition, depth)))
                {
                    return true;
                }
            }

            foreach (var (method, parameterRoot) in callbacks)
            {
                if (depth > 0 && ScanMethod(method, method.IsStatic ? ModuleRoot.Unknown : scope.This, [(method.Parameters[0], parameterRoot)], conditional: true, depth - 1))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Binds the parameter of each <c>module.apply(m => ...)</c> lambda to the module, and returns method-group callbacks to scan.</summary>
        private List<(IMethodSymbol Method, ModuleRoot Root)> BindApplyCallbacks(ModuleScope scope)
        {
            var methodGroups = new List<(IMethodSymbol, ModuleRoot)>();
            foreach (var invocation in scope.Body.Invocations())
            {
                if (invocation.TargetMethod.Name != "apply" || !Symbols.IsModule(invocation.TargetMethod.ContainingType) || invocation.Arguments.Length != 1)
                {
                    continue;
                }

                var receiver = invocation.Instance is null ? ModuleRoot.Unknown : owner.roots.Resolve(invocation.Instance, scope);
                switch (invocation.Arguments[0].Value.WithoutConversions())
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

        private bool FollowsCall(IInvocationOperation invocation, ModuleScope scope, bool conditional, int depth)
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

            var calleeThis = target.IsStatic || invocation.Instance is null ? ModuleRoot.Unknown : owner.roots.Resolve(invocation.Instance, scope);
            var arguments = invocation.Arguments
                .Where(argument => argument.Parameter is not null)
                .Select(argument => (argument.Parameter!, owner.roots.Resolve(argument.Value, scope)))
                .ToList();
            return ScanMethod(target, calleeThis, arguments, conditional, depth - 1);
        }

        private bool ScanMethod(IMethodSymbol method, ModuleRoot thisRoot, IReadOnlyList<(IParameterSymbol Parameter, ModuleRoot Root)> arguments, bool conditional, int depth)
        {
            if (!stack.Add(method.OriginalDefinition))
            {
                return false;
            }

            try
            {
                foreach (var body in owner.bodies.Of(method, cancellationToken))
                {
                    var parameters = new Dictionary<IParameterSymbol, ModuleRoot>(SymbolEqualityComparer.Default);
                    foreach (var (parameter, root) in arguments)
                    {
                        parameters[parameter.OriginalDefinition] = root;
                    }

                    if (Scan(new ModuleScope(body, thisRoot, parameters, method.ContainingType), conditional, depth))
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

        /// <summary>
        /// The modules an invocation initialises or loads: nn.init.* (its tensor), in-place init (its receiver), a load that
        /// always runs (its module), configured init methods (their arguments).
        /// </summary>
        private List<ModuleRoot> InitializationRoots(IInvocationOperation invocation, ModuleScope scope, bool conditional)
        {
            var method = invocation.TargetMethod;
            if (Symbols.IsNnInit(method))
            {
                return invocation.Arguments.Length > 0 ? owner.roots.ResolveAll(invocation.Arguments[0].Value, scope) : [];
            }

            if (InPlaceInitMethods.Contains(method.Name) && Symbols.IsTensor(method.ContainingType) && invocation.Instance is not null)
            {
                return owner.roots.ResolveAll(invocation.Instance, scope);
            }

            if (LoadMethods.Contains(method.Name))
            {
                if (conditional)
                {
                    return [];
                }

                if (!method.IsStatic && Symbols.IsModule(method.ContainingType) && invocation.Instance is not null)
                {
                    return owner.roots.ResolveAll(invocation.Instance, scope);
                }

                return method.IsExtensionMethod && invocation.Arguments.Length > 0 && Symbols.IsModule(invocation.Arguments[0].Value.Type)
                    ? owner.roots.ResolveAll(invocation.Arguments[0].Value, scope)
                    : [];
            }

            if (!GradientDiagnosticsOptions.Matches(method, initMethods))
            {
                return [];
            }

            var initialised = new List<ModuleRoot>();
            if (invocation.Instance is not null)
            {
                initialised.AddRange(owner.roots.ResolveAll(invocation.Instance, scope));
            }

            foreach (var argument in invocation.Arguments.Where(a => Symbols.IsModule(a.Value.Type) || Symbols.IsTensor(a.Value.Type)))
            {
                initialised.AddRange(owner.roots.ResolveAll(argument.Value, scope));
            }

            // A configured init method called without a module or tensor initialises the object it is called from.
            return initialised.Count == 0 && invocation.Instance is null && !invocation.Arguments.Any(a => Symbols.IsModule(a.Value.Type) || Symbols.IsTensor(a.Value.Type))
                ? [scope.This]
                : initialised;
        }

        /// <summary><c>cell.weight_hh = new Parameter(...)</c>: replacing a module's parameter is explicit initialisation.</summary>
        private bool AssignsModuleParameter(ISimpleAssignmentOperation assignment, ModuleScope scope) =>
            assignment.Target is IPropertyReferenceOperation { Instance: { } instance } property
            && Symbols.IsTensor(property.Type)
            && Symbols.IsModule(property.Property.ContainingType)
            && owner.roots.ResolveAll(instance, scope).Any(isTarget);
    }
}
