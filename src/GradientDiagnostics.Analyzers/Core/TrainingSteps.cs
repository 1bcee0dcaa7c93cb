using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The shared model of training steps used by GD0001 and GD0006–GD0009. A <em>training step</em> is a path on which
/// <c>Tensor.backward()</c> is followed by a TorchSharp optimizer's <c>step()</c>: in the same loop body (in either order,
/// since the loop carries the path from one iteration to the next), in straight-line code of one method (a per-batch
/// method), or inside a closure passed to <c>step()</c> (LBFGS). Order is the statement order of the source, which is
/// the execution order of straight-line code and of a loop body read cyclically.
/// One instance per compilation, shared by the rules through <see cref="For"/>, so helper look-through and
/// recurrent-type answers are computed once.
/// </summary>
public sealed class TrainingSteps
{
    private const int MaxResolutionDepth = 3;
    private const string ClipKey = "GradientDiagnostics.clip";
    private const string ZeroGradKey = "GradientDiagnostics.zero_grad";

    private static readonly ConditionalWeakTable<Compilation, TrainingSteps> Instances = new();

    private readonly ConcurrentDictionary<ITypeSymbol, bool> recurrentTypes = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<ISymbol, ImmutableArray<IOperation>> memberValues = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<IMethodSymbol, StrongBox<IInvocationOperation?>> unclearedSteps = new(SymbolEqualityComparer.Default);

    private TrainingSteps(TorchSharpSymbols symbols)
    {
        Symbols = symbols;
        Bodies = new SourceMethodBodies(symbols.Compilation);
    }

    public TorchSharpSymbols Symbols { get; }

    public SourceMethodBodies Bodies { get; }

    /// <summary>The compilation's shared instance.</summary>
    public static TrainingSteps For(TorchSharpSymbols symbols) =>
        Instances.GetValue(symbols.Compilation, _ => new TrainingSteps(symbols));

    /// <summary>Runs <paramref name="action"/> for every operation block of the compilation that forms training steps.</summary>
    public static void RegisterTrainingMethodAction(CompilationStartAnalysisContext context, TorchSharpSymbols symbols, System.Action<OperationBlockAnalysisContext, TrainingSteps, TrainingMethod> action)
    {
        var trainingSteps = For(symbols);
        context.RegisterOperationBlockAction(block =>
        {
            foreach (var root in block.OperationBlocks)
            {
                if (trainingSteps.Analyze(root, block.Options, block.CancellationToken) is { } method)
                {
                    action(block, trainingSteps, method);
                }
            }
        });
    }

    /// <summary>
    /// Models one executable body (an operation block). Returns null — after one cheap walk — when the body has no
    /// <c>backward()</c> or no optimizer <c>step()</c>, which is the case for almost every method.
    /// </summary>
    public TrainingMethod? Analyze(IOperation root, AnalyzerOptions analyzerOptions, CancellationToken cancellationToken)
    {
        var backwards = ImmutableArray.CreateBuilder<IInvocationOperation>();
        var optimizerSteps = ImmutableArray.CreateBuilder<IInvocationOperation>();
        var others = new List<IInvocationOperation>();
        foreach (var invocation in root.DescendantsAndSelf().OfType<IInvocationOperation>())
        {
            if (Symbols.IsBackward(invocation.TargetMethod))
            {
                backwards.Add(invocation);
            }
            else if (Symbols.IsOptimizerStep(invocation.TargetMethod))
            {
                optimizerSteps.Add(invocation);
            }
            else
            {
                others.Add(invocation);
            }
        }

        if (backwards.Count == 0 || optimizerSteps.Count == 0)
        {
            return null;
        }

        var options = GradientDiagnosticsOptions.Read(analyzerOptions.AnalyzerConfigOptionsProvider, root.Syntax.SyntaxTree);
        var clips = ImmutableArray.CreateBuilder<IInvocationOperation>();
        var zeroGrads = ImmutableArray.CreateBuilder<IInvocationOperation>();
        foreach (var invocation in others)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (IsClipping(invocation, options, cancellationToken))
            {
                clips.Add(invocation);
            }
            else if (IsGradientClearing(invocation, cancellationToken))
            {
                zeroGrads.Add(invocation);
            }
        }

        var steps = ImmutableArray.CreateBuilder<TrainingStep>();
        foreach (var stepCall in optimizerSteps)
        {
            var paired = ImmutableArray.CreateBuilder<IInvocationOperation>();
            ILoopOperation? loop = null;
            var kind = StepPathKind.Straight;
            foreach (var backward in backwards)
            {
                if (TryPair(root, backward, stepCall, optimizerSteps, out var pairLoop, out var pairKind))
                {
                    paired.Add(backward);
                    loop ??= pairLoop;
                    kind = paired.Count == 1 ? pairKind : kind;
                }
            }

            if (paired.Count > 0)
            {
                steps.Add(new TrainingStep(root, stepCall, paired.ToImmutable(), loop, kind));
            }
        }

        return new TrainingMethod(root, options, backwards.ToImmutable(), optimizerSteps.ToImmutable(), clips.ToImmutable(), zeroGrads.ToImmutable(), steps.ToImmutable());
    }

    /// <summary>
    /// True for <c>clip_grad_norm_</c>/<c>clip_grad_value_</c>, an in-place clamp of a gradient (<c>p.grad.clamp_(-c, c)</c>),
    /// an in-place rescale of a gradient (<c>p.grad.mul_(theta / norm)</c>, <c>p.grad.div_(…)</c>: clipping by norm written by
    /// hand, as "Dive into Deep Learning" does), a method named in <c>gradient_diagnostics.clipping_methods</c>, or a call of a
    /// source helper that does one of these.
    /// </summary>
    public bool IsClipping(IInvocationOperation invocation, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        IsDirectClipping(invocation, options) || IsClippingHelper(invocation.TargetMethod, options, cancellationToken);

    /// <summary>True when calling <paramref name="method"/> clips: it is a clipping method, or a source method that reaches one.</summary>
    public bool IsClippingMethod(IMethodSymbol method, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        Symbols.IsClipGrad(method) || GradientDiagnosticsOptions.Matches(method, options.ClippingMethods) || IsClippingHelper(method, options, cancellationToken);

    private bool IsClippingHelper(IMethodSymbol method, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        if (!IsSourceMethod(method))
        {
            return false;
        }

        var key = options.ClippingMethods.IsDefaultOrEmpty ? ClipKey : ClipKey + ":" + string.Join(",", options.ClippingMethods);
        return Bodies.Reaches(method, key, invocation => IsDirectClipping(invocation, options), cancellationToken);
    }

    /// <summary>
    /// True when the type is a TorchSharp recurrent module, or a module whose fields/properties (transitively, through
    /// source types and generic arguments such as <c>ModuleList&lt;LSTM&gt;</c>) hold one. A user class merely named LSTM is not.
    /// </summary>
    public bool ContainsRecurrentModule(ITypeSymbol? type, CancellationToken cancellationToken) =>
        type is not null && recurrentTypes.GetOrAdd(type, t => ComputeContainsRecurrentModule(t, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), cancellationToken));

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

        return (!known || unknown) && Bodies.OperationReaches(step.Scope, invocation => IsRecurrentCall(invocation, cancellationToken), cancellationToken);
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
                    result.Add(Unwrap(argument.Value));
                }
            }
        }

        return result.ToImmutable();
    }

    /// <summary>The symbol an optimizer/model reference reads (local, parameter, field or property), or null.</summary>
    public static ISymbol? ReferencedSymbol(IOperation? operation) => (operation is null ? null : Unwrap(operation)) switch
    {
        ILocalReferenceOperation local => local.Local,
        IParameterReferenceOperation parameter => parameter.Parameter,
        IFieldReferenceOperation field => field.Field,
        IPropertyReferenceOperation property => property.Property,
        _ => null,
    };

    /// <summary>The operation under conversions and parentheses.</summary>
    public static IOperation Unwrap(IOperation operation)
    {
        while (true)
        {
            switch (operation)
            {
                case IConversionOperation conversion:
                    operation = conversion.Operand;
                    break;
                case IParenthesizedOperation parenthesized:
                    operation = parenthesized.Operand;
                    break;
                default:
                    return operation;
            }
        }
    }

    /// <summary>The innermost lambda or local function containing the operation, or the block root.</summary>
    internal static IOperation Owner(IOperation operation, IOperation root)
    {
        for (var current = operation.Parent; current is not null && current != root; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                return current;
            }
        }

        return root;
    }

    /// <summary>Loops whose body contains the operation, innermost first, stopping at its owner.</summary>
    internal static IEnumerable<ILoopOperation> EnclosingLoops(IOperation operation, IOperation root)
    {
        var child = operation;
        for (var current = operation.Parent; current is not null && current != root; child = current, current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                yield break;
            }

            if (current is ILoopOperation loop && loop.Body == child)
            {
                yield return loop;
            }
        }
    }

    internal static bool Contains(IOperation outer, IOperation inner) => outer.Syntax.Span.Contains(inner.Syntax.Span) && outer.Syntax.SyntaxTree == inner.Syntax.SyntaxTree;

    private static bool TryPair(IOperation root, IInvocationOperation backward, IInvocationOperation stepCall, IEnumerable<IInvocationOperation> allSteps, out ILoopOperation? loop, out StepPathKind kind)
    {
        loop = null;
        kind = StepPathKind.Straight;
        if (Contains(stepCall, backward))
        {
            // step(closure) runs the closure, which calls backward(), then updates.
            kind = StepPathKind.Closure;
            loop = EnclosingLoops(stepCall, root).FirstOrDefault();
            return true;
        }

        if (Owner(backward, root) != Owner(stepCall, root))
        {
            return false;
        }

        var stepLoops = EnclosingLoops(stepCall, root).ToList();
        var backwardLoops = EnclosingLoops(backward, root).ToList();
        loop = backwardLoops.FirstOrDefault(stepLoops.Contains);

        // A loop around backward() but not around this step() that steps an optimizer itself consumes its gradients
        // (a pretraining loop followed by a fine-tuning loop); one without a step accumulates them for this step().
        if (backwardLoops.Any(backwardLoop => !stepLoops.Contains(backwardLoop) && allSteps.Any(other => Contains(backwardLoop.Body, other))))
        {
            return false;
        }

        if (backward.Syntax.SpanStart < stepCall.Syntax.SpanStart)
        {
            return true;
        }

        kind = StepPathKind.AroundLoop;
        return loop is not null;
    }

    private bool IsDirectClipping(IInvocationOperation invocation, GradientDiagnosticsOptions options) =>
        Symbols.IsClipGrad(invocation.TargetMethod)
        || GradientDiagnosticsOptions.Matches(invocation.TargetMethod, options.ClippingMethods)
        || (invocation.TargetMethod.Name is "clamp_" or "clip_" or "mul_" or "div_" && IsOnGradient(invocation));

    /// <summary>
    /// The optimizer <c>step()</c> that a call of <paramref name="method"/> runs once per call — backward() and step() outside
    /// any loop of the method, in it or in a source helper it calls outside loops — when nothing the method runs clears
    /// gradients; otherwise null. A loop that calls such a method is a training loop whose clearing must be in the loop.
    /// </summary>
    public IInvocationOperation? UnclearedStepOf(IMethodSymbol method, AnalyzerOptions analyzerOptions, CancellationToken cancellationToken) =>
        IsSourceMethod(method)
            ? unclearedSteps.GetOrAdd(method.OriginalDefinition, m => new StrongBox<IInvocationOperation?>(
                ComputeUnclearedStep(m, analyzerOptions, 0, new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default), cancellationToken))).Value
            : null;

    private IInvocationOperation? ComputeUnclearedStep(IMethodSymbol method, AnalyzerOptions analyzerOptions, int depth, HashSet<IMethodSymbol> visiting, CancellationToken cancellationToken)
    {
        if (depth > MaxResolutionDepth || !IsSourceMethod(method) || !visiting.Add(method.OriginalDefinition))
        {
            return null;
        }

        foreach (var body in Bodies.GetBodies(method, cancellationToken))
        {
            var invocations = body.DescendantsAndSelf().OfType<IInvocationOperation>().ToList();
            if (invocations.Any(invocation => IsGradientClearing(invocation, cancellationToken)))
            {
                return null;
            }

            if (Analyze(body, analyzerOptions, cancellationToken)?.Steps.FirstOrDefault(step => step.Loop is null) is { } step)
            {
                return step.StepCall;
            }

            foreach (var invocation in invocations)
            {
                if (Owner(invocation, body) == body && !EnclosingLoops(invocation, body).Any()
                    && ComputeUnclearedStep(invocation.TargetMethod, analyzerOptions, depth + 1, visiting, cancellationToken) is { } inner)
                {
                    return inner;
                }
            }
        }

        return null;
    }

    /// <summary>zero_grad() on an optimizer or module, <c>p.grad.zero_()</c>, or a call of a source helper that reaches one.</summary>
    internal bool IsGradientClearing(IInvocationOperation invocation, CancellationToken cancellationToken)
    {
        if (IsDirectGradientClearing(invocation))
        {
            return true;
        }

        return IsSourceMethod(invocation.TargetMethod)
            && Bodies.Reaches(invocation.TargetMethod, ZeroGradKey, IsDirectGradientClearing, cancellationToken);
    }

    /// <summary><c>optimizer.zero_grad()</c>, <c>module.zero_grad()</c>, or <c>p.grad.zero_()</c> / <c>p.grad?.zero_()</c>.</summary>
    private bool IsDirectGradientClearing(IInvocationOperation invocation)
    {
        if (Symbols.IsZeroGrad(invocation.TargetMethod))
        {
            return true;
        }

        return invocation.TargetMethod.Name == "zero_" && IsOnGradient(invocation);
    }

    /// <summary>True for a Tensor method called on a parameter's gradient: <c>p.grad.m(…)</c> or <c>p.grad?.m(…)</c>.</summary>
    private bool IsOnGradient(IInvocationOperation invocation)
    {
        if (invocation.Instance is null || !Symbols.IsTensor(invocation.TargetMethod.ContainingType))
        {
            return false;
        }

        var receiver = Unwrap(invocation.Instance);
        if (receiver is IConditionalAccessInstanceOperation && invocation.Parent is IConditionalAccessOperation conditional)
        {
            receiver = Unwrap(conditional.Operation);
        }

        return receiver is IPropertyReferenceOperation { Property.Name: "grad" } property && Symbols.IsTensor(property.Property.ContainingType);
    }

    internal static bool IsSourceMethod(IMethodSymbol method) =>
        !method.DeclaringSyntaxReferences.IsEmpty && method.MethodKind is MethodKind.Ordinary or MethodKind.LocalFunction or MethodKind.PropertyGet;

    private bool IsRecurrentCall(IInvocationOperation invocation, CancellationToken cancellationToken) =>
        invocation.TargetMethod.Name is "call" or "forward"
        && Symbols.IsModule(invocation.TargetMethod.ContainingType)
        && invocation.Instance is { } instance
        && ContainsRecurrentModule(Unwrap(instance).Type, cancellationToken);

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
                yield return Unwrap(instance);
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
            if (ContainsRecurrentModule(value.Type, cancellationToken) || value.DescendantsAndSelf().Any(v => v is IInvocationOperation or IObjectCreationOperation && Symbols.IsRecurrentModule(v.Type)))
            {
                return true;
            }
        }

        return IsConcreteClass(source.Type) || values.Any(value => IsConcreteClass(value.Type)) ? false : null;
    }

    private static bool IsConcreteClass(ITypeSymbol? type) => type is INamedTypeSymbol { IsAbstract: false, TypeKind: TypeKind.Class };

    /// <summary>Values assigned to the local (in this body), field or property (anywhere in its type) that <paramref name="reference"/> reads.</summary>
    private ImmutableArray<IOperation> ResolveValues(IOperation root, IOperation reference, CancellationToken cancellationToken)
    {
        reference = Unwrap(reference);
        switch (reference)
        {
            case ILocalReferenceOperation local:
                return ValuesAssignedIn(root, local.Local, cancellationToken);
            case IFieldReferenceOperation field:
                return memberValues.GetOrAdd(field.Field, member => ValuesAssignedInType(member, cancellationToken));
            case IPropertyReferenceOperation property when property.Property.Parameters.IsEmpty:
                return memberValues.GetOrAdd(property.Property, member => ValuesAssignedInType(member, cancellationToken));
            case IObjectCreationOperation or IInvocationOperation:
                return ImmutableArray.Create(reference);
            default:
                return ImmutableArray<IOperation>.Empty;
        }
    }

    private static ImmutableArray<IOperation> ValuesAssignedIn(IOperation root, ISymbol target, CancellationToken cancellationToken)
    {
        var values = ImmutableArray.CreateBuilder<IOperation>();
        foreach (var operation in root.Descendants())
        {
            cancellationToken.ThrowIfCancellationRequested();
            switch (operation)
            {
                case IVariableDeclaratorOperation declarator when SymbolEqualityComparer.Default.Equals(declarator.Symbol, target) && declarator.Initializer is { } initializer:
                    values.Add(Unwrap(initializer.Value));
                    break;
                case IVariableDeclaratorOperation declarator when SymbolEqualityComparer.Default.Equals(declarator.Symbol, target)
                    && declarator.Parent is IVariableDeclarationOperation { Initializer: { } sharedInitializer }:
                    values.Add(Unwrap(sharedInitializer.Value));
                    break;
                case ISimpleAssignmentOperation assignment when SymbolEqualityComparer.Default.Equals(ReferencedSymbol(assignment.Target), target):
                    values.Add(Unwrap(assignment.Value));
                    break;
                case ICoalesceAssignmentOperation coalesce when SymbolEqualityComparer.Default.Equals(ReferencedSymbol(coalesce.Target), target):
                    values.Add(Unwrap(coalesce.Value));
                    break;
            }
        }

        return values.ToImmutable();
    }

    private ImmutableArray<IOperation> ValuesAssignedInType(ISymbol member, CancellationToken cancellationToken)
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

            if (initializerSyntax is not null && Bodies.GetOperation(initializerSyntax, cancellationToken) is ISymbolInitializerOperation initializer)
            {
                values.Add(Unwrap(initializer.Value));
            }
        }

        var type = member.ContainingType;
        if (type is null)
        {
            return values.ToImmutable();
        }

        foreach (var method in type.GetMembers().OfType<IMethodSymbol>())
        {
            foreach (var body in Bodies.GetBodies(method, cancellationToken))
            {
                values.AddRange(ValuesAssignedIn(body, member, cancellationToken));
            }
        }

        return values.ToImmutable();
    }

    /// <summary>Only the answer for the type asked about is cached: answers for types met on a cycle are partial.</summary>
    private bool ComputeContainsRecurrentModule(ITypeSymbol type, HashSet<ITypeSymbol> visiting, CancellationToken cancellationToken)
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
                return ComputeContainsRecurrentModule(array.ElementType, visiting, cancellationToken);
            case INamedTypeSymbol named:
                if (named.TypeArguments.Any(argument => ComputeContainsRecurrentModule(argument, visiting, cancellationToken)))
                {
                    return true;
                }

                // Metadata types are judged by their own type (above): only user module types are looked into.
                for (var current = named; current is not null && !current.DeclaringSyntaxReferences.IsEmpty; current = current.BaseType)
                {
                    foreach (var member in current.GetMembers())
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

                        if (ComputeContainsRecurrentModule(memberType, visiting, cancellationToken))
                        {
                            return true;
                        }

                        // A submodule declared as nn.Module<Tensor, Tensor> is judged by what its type assigns to it.
                        if (!IsConcreteClass(memberType) && Symbols.IsModule(memberType)
                            && memberValues.GetOrAdd(member, m => ValuesAssignedInType(m, cancellationToken))
                                .Any(value => value.Type is { } valueType && ComputeContainsRecurrentModule(valueType, visiting, cancellationToken)))
                        {
                            return true;
                        }
                    }
                }

                return false;
            default:
                return false;
        }
    }
}

/// <summary>How backward() reaches step(): straight-line, around a loop (step precedes backward in the body), or through step's closure.</summary>
public enum StepPathKind
{
    Straight,
    AroundLoop,
    Closure,
}

/// <summary>The training-relevant calls of one executable body and the training steps they form.</summary>
public sealed class TrainingMethod
{
    internal TrainingMethod(
        IOperation root,
        GradientDiagnosticsOptions options,
        ImmutableArray<IInvocationOperation> backwards,
        ImmutableArray<IInvocationOperation> optimizerSteps,
        ImmutableArray<IInvocationOperation> clips,
        ImmutableArray<IInvocationOperation> gradientClears,
        ImmutableArray<TrainingStep> steps)
    {
        Root = root;
        Options = options;
        Backwards = backwards;
        OptimizerSteps = optimizerSteps;
        Clips = clips;
        GradientClears = gradientClears;
        Steps = steps;
    }

    public IOperation Root { get; }

    /// <summary>The .editorconfig options of the body's syntax tree.</summary>
    public GradientDiagnosticsOptions Options { get; }

    public ImmutableArray<IInvocationOperation> Backwards { get; }

    public ImmutableArray<IInvocationOperation> OptimizerSteps { get; }

    /// <summary>Clipping calls: torch's, configured ones, and source helpers that reach either.</summary>
    public ImmutableArray<IInvocationOperation> Clips { get; }

    /// <summary>zero_grad() on an optimizer or module, <c>p.grad.zero_()</c>, and source helpers that reach them.</summary>
    public ImmutableArray<IInvocationOperation> GradientClears { get; }

    public ImmutableArray<TrainingStep> Steps { get; }

    /// <summary>True when <paramref name="call"/> lies on the path from one of the step's backward() calls to its step().</summary>
    public static bool IsBetweenBackwardAndStep(IOperation call, TrainingStep step) =>
        step.Backwards.Any(backward => IsBetween(call, backward, step));

    /// <summary>True when <paramref name="call"/> runs as part of the step: in its loop body, its closure, or (for a per-batch method) the same body.</summary>
    public static bool IsInStep(IOperation call, TrainingStep step)
    {
        if (step.Kind == StepPathKind.Closure)
        {
            return TrainingSteps.Contains(step.StepCall, call) || (step.Loop is not null && TrainingSteps.Contains(step.Loop.Body, call));
        }

        if (step.Loop is not null)
        {
            return TrainingSteps.Contains(step.Loop.Body, call);
        }

        return TrainingSteps.Owner(call, step.Root) == TrainingSteps.Owner(step.StepCall, step.Root);
    }

    private static bool IsBetween(IOperation call, IInvocationOperation backward, TrainingStep step)
    {
        var position = call.Syntax.SpanStart;
        var afterBackward = position >= backward.Syntax.Span.End;
        var beforeStep = position < step.StepCall.Syntax.SpanStart;
        if (TrainingSteps.Contains(step.StepCall, backward))
        {
            return TrainingSteps.Contains(step.StepCall, call) && afterBackward;
        }

        if (backward.Syntax.SpanStart < step.StepCall.Syntax.SpanStart)
        {
            return afterBackward && beforeStep && TrainingSteps.Owner(call, step.Root) == TrainingSteps.Owner(step.StepCall, step.Root);
        }

        return step.Loop is not null && TrainingSteps.Contains(step.Loop.Body, call) && (afterBackward || beforeStep);
    }
}

/// <summary>One optimizer step() and the backward() calls that lead to it.</summary>
public sealed class TrainingStep
{
    internal TrainingStep(IOperation root, IInvocationOperation stepCall, ImmutableArray<IInvocationOperation> backwards, ILoopOperation? loop, StepPathKind kind)
    {
        Root = root;
        StepCall = stepCall;
        Backwards = backwards;
        Loop = loop;
        Kind = kind;
    }

    /// <summary>The operation block the step was found in.</summary>
    public IOperation Root { get; }

    /// <summary>The optimizer's <c>step()</c> invocation.</summary>
    public IInvocationOperation StepCall { get; }

    /// <summary>The backward() calls with a path to <see cref="StepCall"/>, in source order.</summary>
    public ImmutableArray<IInvocationOperation> Backwards { get; }

    /// <summary>The innermost loop that repeats the step, or null for a per-batch method.</summary>
    public ILoopOperation? Loop { get; }

    public StepPathKind Kind { get; }

    /// <summary>How messages name the call: <c>optimizer.step()</c>, without a closure argument's body.</summary>
    public string DisplayName => StepCall.Instance is { IsImplicit: false } instance ? instance.Syntax + ".step()" : "step()";

    /// <summary>The operation whose execution is one step: the loop body, the step's closure, or the whole body.</summary>
    public IOperation Scope => Kind == StepPathKind.Closure ? StepCall : Loop?.Body ?? Root;

    /// <summary>The backward() whose statement the step's gradients are final after: the last one before step() in execution order.</summary>
    public IInvocationOperation LastBackward
    {
        get
        {
            var stepStart = StepCall.Syntax.SpanStart;
            var before = Backwards.Where(b => b.Syntax.SpanStart < stepStart || Kind == StepPathKind.Closure).ToList();
            return before.Count > 0 ? before.OrderBy(b => b.Syntax.SpanStart).Last() : Backwards.OrderBy(b => b.Syntax.SpanStart).Last();
        }
    }
}
