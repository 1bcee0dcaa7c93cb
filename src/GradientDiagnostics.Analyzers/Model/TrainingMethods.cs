using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>Builds a body's <see cref="TrainingMethod"/>: finds its backward() and step() calls and pairs them into steps.</summary>
internal static class TrainingMethods
{
    private const int MaxHelperDepth = 3;

    public static TrainingMethod? Build(TrainingProgram program, IOperation root, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        var symbols = program.Symbols;
        var backwards = ImmutableArray.CreateBuilder<IInvocationOperation>();
        var optimizerSteps = ImmutableArray.CreateBuilder<IInvocationOperation>();
        var others = new List<IInvocationOperation>();
        foreach (var invocation in root.Invocations())
        {
            if (symbols.IsBackward(invocation.TargetMethod))
            {
                backwards.Add(invocation);
            }
            else if (symbols.IsOptimizerStep(invocation.TargetMethod))
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

        var clips = ImmutableArray.CreateBuilder<IInvocationOperation>();
        var clears = ImmutableArray.CreateBuilder<IInvocationOperation>();
        foreach (var invocation in others)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (program.Calls.IsClipping(invocation, options, cancellationToken))
            {
                clips.Add(invocation);
            }
            else if (program.Calls.IsGradientClearing(invocation, options, cancellationToken))
            {
                clears.Add(invocation);
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

        return new TrainingMethod(root, options, backwards.ToImmutable(), optimizerSteps.ToImmutable(), clips.ToImmutable(), clears.ToImmutable(), steps.ToImmutable());
    }

    /// <summary>See <see cref="TrainingProgram.UnclearedStepOf"/>.</summary>
    public static IInvocationOperation? UnclearedStep(TrainingProgram program, IMethodSymbol method, GradientDiagnosticsOptions options, HashSet<IMethodSymbol> visiting, CancellationToken cancellationToken, int depth = 0)
    {
        if (depth > MaxHelperDepth || !SourceBodies.IsSourceMethod(method) || !visiting.Add(method.OriginalDefinition))
        {
            return null;
        }

        foreach (var body in program.Bodies.Of(method, cancellationToken))
        {
            var invocations = body.Invocations().ToList();
            if (invocations.Any(invocation => program.Calls.IsGradientClearing(invocation, options, cancellationToken)))
            {
                return null;
            }

            if (program.TrainingMethodOf(body, options, cancellationToken)?.Steps.FirstOrDefault(step => step.Loop is null) is { } step)
            {
                return step.StepCall;
            }

            foreach (var invocation in invocations)
            {
                if (invocation.EnclosingFunction(body) == body && !invocation.EnclosingLoops(body).Any()
                    && UnclearedStep(program, invocation.TargetMethod, options, visiting, cancellationToken, depth + 1) is { } inner)
                {
                    return inner;
                }
            }
        }

        return null;
    }

    private static bool TryPair(IOperation root, IInvocationOperation backward, IInvocationOperation stepCall, IEnumerable<IInvocationOperation> allSteps, out ILoopOperation? loop, out StepPathKind kind)
    {
        loop = null;
        kind = StepPathKind.Straight;
        if (stepCall.Contains(backward))
        {
            // step(closure) runs the closure, which calls backward(), then updates.
            kind = StepPathKind.Closure;
            loop = stepCall.EnclosingLoops(root).FirstOrDefault();
            return true;
        }

        if (backward.EnclosingFunction(root) != stepCall.EnclosingFunction(root))
        {
            return false;
        }

        var stepLoops = stepCall.EnclosingLoops(root).ToList();
        var backwardLoops = backward.EnclosingLoops(root).ToList();
        loop = backwardLoops.FirstOrDefault(stepLoops.Contains);

        // A loop around backward() but not around this step() that steps an optimizer itself consumes its gradients
        // (a pretraining loop followed by a fine-tuning loop); one without a step accumulates them for this step().
        if (backwardLoops.Any(backwardLoop => !stepLoops.Contains(backwardLoop) && allSteps.Any(other => backwardLoop.Body.Contains(other))))
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
}
