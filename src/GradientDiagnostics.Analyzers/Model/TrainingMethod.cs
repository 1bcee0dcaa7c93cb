using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>How backward() reaches step(): straight-line, around a loop (step precedes backward in the body), or through step's closure.</summary>
internal enum StepPathKind
{
    Straight,
    AroundLoop,
    Closure,
}

/// <summary>
/// The training-relevant calls of one executable body and the training steps they form. The one definition of
/// "training step" (DESIGN.md): a path on which <c>Tensor.backward()</c> is followed by a TorchSharp optimizer's
/// <c>step()</c> — in the same loop body (in either order, since the loop carries the path from one iteration to the
/// next), in straight-line code of one method (a per-batch method), or inside a closure passed to <c>step()</c> (LBFGS).
/// A <em>training loop</em> is the innermost loop that repeats a step. Order is the statement order of the source, which
/// is the execution order of straight-line code and of a loop body read cyclically.
/// </summary>
internal sealed class TrainingMethod
{
    public TrainingMethod(
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

    /// <summary>The root of the body: a method body, constructor body or the top-level statements.</summary>
    public IOperation Root { get; }

    /// <summary>The .editorconfig options of the body's syntax tree.</summary>
    public GradientDiagnosticsOptions Options { get; }

    public ImmutableArray<IInvocationOperation> Backwards { get; }

    public ImmutableArray<IInvocationOperation> OptimizerSteps { get; }

    /// <summary>Clipping calls: torch's, configured ones, hand-written rescaling of .grad, and source helpers that reach one.</summary>
    public ImmutableArray<IInvocationOperation> Clips { get; }

    /// <summary>zero_grad() on an optimizer or module, <c>p.grad.zero_()</c>, and source helpers that reach them.</summary>
    public ImmutableArray<IInvocationOperation> GradientClears { get; }

    public ImmutableArray<TrainingStep> Steps { get; }

    /// <summary>The innermost loop around <paramref name="operation"/> (or around the step() whose closure holds it) that also steps an optimizer.</summary>
    public ILoopOperation? TrainingLoopAround(IOperation operation)
    {
        var closureStep = OptimizerSteps.FirstOrDefault(step => step.Contains(operation));
        return (closureStep ?? operation).EnclosingLoops(Root).FirstOrDefault(loop => OptimizerSteps.Any(step => loop.Body.Contains(step)));
    }

    /// <summary>True when <paramref name="call"/> lies on the path from one of the step's backward() calls to its step().</summary>
    public static bool IsBetweenBackwardAndStep(IOperation call, TrainingStep step) =>
        step.Backwards.Any(backward => IsBetween(call, backward, step));

    /// <summary>True when <paramref name="call"/> runs as part of the step: in its loop body, its closure, or (for a per-batch method) the same body.</summary>
    public static bool IsInStep(IOperation call, TrainingStep step)
    {
        if (step.Kind == StepPathKind.Closure)
        {
            return step.StepCall.Contains(call) || (step.Loop is not null && step.Loop.Body.Contains(call));
        }

        if (step.Loop is not null)
        {
            return step.Loop.Body.Contains(call);
        }

        return call.EnclosingFunction(step.Root) == step.StepCall.EnclosingFunction(step.Root);
    }

    private static bool IsBetween(IOperation call, IInvocationOperation backward, TrainingStep step)
    {
        var position = call.Syntax.SpanStart;
        var afterBackward = position >= backward.Syntax.Span.End;
        var beforeStep = position < step.StepCall.Syntax.SpanStart;
        if (step.StepCall.Contains(backward))
        {
            return step.StepCall.Contains(call) && afterBackward;
        }

        if (backward.Syntax.SpanStart < step.StepCall.Syntax.SpanStart)
        {
            return afterBackward && beforeStep && call.EnclosingFunction(step.Root) == step.StepCall.EnclosingFunction(step.Root);
        }

        return step.Loop is not null && step.Loop.Body.Contains(call) && (afterBackward || beforeStep);
    }
}

/// <summary>One optimizer step() and the backward() calls that lead to it.</summary>
internal sealed class TrainingStep
{
    public TrainingStep(IOperation root, IInvocationOperation stepCall, ImmutableArray<IInvocationOperation> backwards, ILoopOperation? loop, StepPathKind kind)
    {
        Root = root;
        StepCall = stepCall;
        Backwards = backwards;
        Loop = loop;
        Kind = kind;
    }

    /// <summary>The root of the body the step was found in.</summary>
    public IOperation Root { get; }

    /// <summary>The optimizer's <c>step()</c> invocation.</summary>
    public IInvocationOperation StepCall { get; }

    /// <summary>The backward() calls with a path to <see cref="StepCall"/>, in source order.</summary>
    public ImmutableArray<IInvocationOperation> Backwards { get; }

    /// <summary>The training loop: the innermost loop that repeats the step, or null for a per-batch method.</summary>
    public ILoopOperation? Loop { get; }

    public StepPathKind Kind { get; }

    /// <summary>How messages name the call: <c>optimizer.step()</c>, without a closure argument's body.</summary>
    public string DisplayName => StepCall.Instance is { IsImplicit: false } instance ? instance.Syntax + ".step()" : "step()";

    /// <summary>The operation whose execution is one step: the loop body, the step's closure, or the whole body.</summary>
    public IOperation Scope => Kind == StepPathKind.Closure ? StepCall : Loop?.Body ?? Root;

    /// <summary>The backward() after which the step's gradients are final: the last one before step() in execution order.</summary>
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
