using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Recognises, by symbol, the calls that act on gradients — backward, clipping, clearing, detaching — directly or through
/// a source helper that does (within <see cref="HelperReach.DefaultMaxDepth"/> calls).
/// </summary>
internal sealed class GradientCalls
{
    private static readonly string[] ClearingNames = ["zero_grad", "zero_"];
    private static readonly string[] InPlaceDetachNames = ["detach_"];
    private static readonly string[] ClippingNames = ["clip_grad_norm_", "clip_grad_value_", "Clip", "clamp_", "clip_", "mul_", "div_"];
    private static readonly string[] DetachNames = ["detach", "detach_"];

    private readonly TrainingProgram program;
    private readonly HelperReach reach;
    private readonly ConditionalWeakTable<GradientDiagnosticsOptions, string[]?> clippingGoals = new();
    private readonly ConditionalWeakTable<GradientDiagnosticsOptions, string[]?> detachGoals = new();

    public GradientCalls(TrainingProgram program, HelperReach reach)
    {
        this.program = program;
        this.reach = reach;
    }

    private TorchSharpSymbols Symbols => program.Symbols;

    /// <summary>
    /// True for <c>clip_grad_norm_</c>/<c>clip_grad_value_</c>, <c>AdaptiveGradientClipper.Clip()</c>, an in-place clamp of a gradient (<c>p.grad.clamp_(-c, c)</c>),
    /// an in-place rescale of a gradient (<c>p.grad.mul_(theta / norm)</c>, <c>p.grad.div_(…)</c>: clipping by norm written by
    /// hand, as "Dive into Deep Learning" does), a method named in <c>gradient_diagnostics.clipping_methods</c>, or a call of a
    /// source helper that does one of these.
    /// </summary>
    public bool IsClipping(IInvocationOperation invocation, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        IsDirectClipping(invocation, options) || ReachesClipping(invocation.TargetMethod, options, cancellationToken);

    /// <summary>True when calling <paramref name="method"/> clips: it is a clipping method, or a source method that reaches one.</summary>
    public bool IsClippingMethod(IMethodSymbol method, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        Symbols.IsClipGrad(method) || Symbols.IsAdaptiveClip(method) || GradientDiagnosticsOptions.Matches(method, options.ClippingMethods) || ReachesClipping(method, options, cancellationToken);

    /// <summary>The threshold operation of <c>clip_grad_norm_</c>/<c>clip_grad_value_</c> (its second argument), or null for other clipping.</summary>
    public IOperation? ClipThreshold(IInvocationOperation clip)
    {
        if (!Symbols.IsClipGrad(clip.TargetMethod))
        {
            return null;
        }

        foreach (var argument in clip.Arguments)
        {
            if (argument.Parameter?.Ordinal == 1 && argument.ArgumentKind == ArgumentKind.Explicit)
            {
                return argument.Value;
            }
        }

        return null;
    }

    /// <summary>zero_grad() on an optimizer or module, <c>p.grad.zero_()</c>, or a call of a source helper that reaches one.</summary>
    public bool IsGradientClearing(IInvocationOperation invocation, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        IsDirectGradientClearing(invocation)
        || (SourceBodies.IsSourceMethod(invocation.TargetMethod)
            && reach.Reaches(invocation.TargetMethod, ReachGoal.GradientClearing, options, IsDirectGradientClearing, ClearingNames, cancellationToken));

    /// <summary><c>Tensor.backward()</c>, or a call of a source method that reaches one.</summary>
    public bool RunsBackward(IInvocationOperation invocation, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        IsBackward(invocation) || reach.Reaches(invocation.TargetMethod, ReachGoal.Backward, options, IsBackward, TorchSharpSymbols.BackwardNames, cancellationToken);

    /// <summary>True when <paramref name="root"/> runs backward(), directly or through source helpers.</summary>
    public bool Trains(IOperation root, CancellationToken cancellationToken) => reach.OperationReaches(root, IsBackward, cancellationToken);

    /// <summary><c>detach()</c>/<c>detach_()</c>, a configured detach method, or a source method that reaches one.</summary>
    public bool IsDetaching(IInvocationOperation invocation, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        IsDetachMethod(invocation.TargetMethod, options)
        || reach.Reaches(invocation.TargetMethod, ReachGoal.Detaching, options, i => IsDetachMethod(i.TargetMethod, options), GoalNames(DetachNames, options.DetachNames, options, detachGoals), cancellationToken);

    /// <summary>True when calling the source method <paramref name="method"/> runs an in-place <c>detach_()</c>.</summary>
    public bool DetachesInPlace(IMethodSymbol method, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        reach.Reaches(method, ReachGoal.InPlaceDetaching, options, i => i.TargetMethod.Name == "detach_" && Symbols.IsDetach(i.TargetMethod), InPlaceDetachNames, cancellationToken);

    public bool IsDetachMethod(IMethodSymbol method, GradientDiagnosticsOptions options) =>
        Symbols.IsDetach(method) || GradientDiagnosticsOptions.Matches(method, options.DetachMethods);

    private bool IsBackward(IInvocationOperation invocation) => Symbols.IsBackward(invocation.TargetMethod);

    private bool ReachesClipping(IMethodSymbol method, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        SourceBodies.IsSourceMethod(method)
        && reach.Reaches(method, ReachGoal.Clipping, options, invocation => IsDirectClipping(invocation, options), GoalNames(ClippingNames, options.ClippingNames, options, clippingGoals), cancellationToken);

    private bool IsDirectClipping(IInvocationOperation invocation, GradientDiagnosticsOptions options) =>
        Symbols.IsClipGrad(invocation.TargetMethod)
        || Symbols.IsAdaptiveClip(invocation.TargetMethod)
        || GradientDiagnosticsOptions.Matches(invocation.TargetMethod, options.ClippingMethods)
        || (invocation.TargetMethod.Name is "clamp_" or "clip_" or "mul_" or "div_" && IsOnGradient(invocation));

    /// <summary><c>optimizer.zero_grad()</c>, <c>module.zero_grad()</c>, or <c>p.grad.zero_()</c> / <c>p.grad?.zero_()</c>.</summary>
    private bool IsDirectGradientClearing(IInvocationOperation invocation) =>
        Symbols.IsZeroGrad(invocation.TargetMethod) || (invocation.TargetMethod.Name == "zero_" && IsOnGradient(invocation));

    /// <summary>True for a Tensor method called on a parameter's gradient: <c>p.grad.m(…)</c> or <c>p.grad?.m(…)</c>.</summary>
    private bool IsOnGradient(IInvocationOperation invocation)
    {
        if (invocation.Instance is null || !Symbols.IsTensor(invocation.TargetMethod.ContainingType))
        {
            return false;
        }

        var receiver = invocation.Instance.WithoutConversions();
        if (receiver is IConditionalAccessInstanceOperation && invocation.Parent is IConditionalAccessOperation conditional)
        {
            receiver = conditional.Operation.WithoutConversions();
        }

        return receiver is IPropertyReferenceOperation { Property.Name: "grad" } property && Symbols.IsTensor(property.Property.ContainingType);
    }

    /// <summary>The names a goal's invocations can have under these options: the built-in ones and the configured ones; null when a wildcard allows any.</summary>
    private static string[]? GoalNames(string[] builtIn, IReadOnlyCollection<string>? configured, GradientDiagnosticsOptions options, ConditionalWeakTable<GradientDiagnosticsOptions, string[]?> cache) =>
        cache.GetValue(options, _ => configured is null ? null : [.. builtIn, .. configured]);
}
