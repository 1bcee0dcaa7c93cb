using GradientDiagnostics.Clipping;
using GradientDiagnostics.Telemetry;
using static TorchSharp.torch;

namespace GradientDiagnostics;

/// <summary>
/// Gradient-norm clipping whose threshold follows the norms it sees, instead of a number written into the code:
/// ZClip's EMA z-score (default) or AutoClip's quantile of the norm history (<see cref="AdaptiveClippingOptions"/>).
/// A drop-in for <c>nn.utils.clip_grad_norm_(parameters, maxNorm)</c>: create it once before the training loop and call
/// <see cref="Clip"/> after <c>loss.backward()</c>, before <c>optimizer.step()</c>.
/// </summary>
/// <example>
/// <code>
/// var clipper = new AdaptiveGradientClipper(model.parameters());
/// for (var step = 0; step &lt; steps; step++)
/// {
///     optimizer.zero_grad();
///     loss = criterion.call(model.call(input), target);
///     loss.backward();
///     clipper.Clip();
///     optimizer.step();
/// }
/// </code>
/// </example>
/// <remarks>
/// <para>
/// The norm is the L2 norm of all gradients together, as <c>clip_grad_norm_</c> computes it. A norm at or below the
/// threshold leaves every gradient untouched (not even multiplied by 1); a norm above it scales them all by
/// threshold / norm, so the clipped norm equals the threshold. For the first <see cref="AdaptiveClippingOptions.WarmupSteps"/>
/// steps the threshold is <see cref="AdaptiveClippingOptions.WarmupMaxNorm"/>.
/// </para>
/// <para>
/// A NaN or infinite norm cannot be scaled to a finite one: the clipper sets every gradient to zero, so the optimizer's
/// step adds nothing from this batch (the "skip the step" remedy of mixed-precision loss scaling), leaves the norm out of
/// its statistics, counts it in <see cref="NonFiniteSteps"/> and returns it.
/// </para>
/// <para>
/// A norm of exactly zero (every gradient zero: a frozen start, a fully masked loss) is returned as it is and leaves the
/// statistics and the warm-up count alone, so such steps cannot drive the threshold to zero.
/// </para>
/// <para>
/// Every threshold applied is recorded by the <c>gradient.clip.threshold</c> histogram; given a
/// <see cref="GradientWatch"/>, the watch's step reports carry it as <see cref="GradientStepReport.ClipThreshold"/>.
/// </para>
/// </remarks>
public sealed class AdaptiveGradientClipper
{
    private readonly object gate = new();
    private readonly Tensor[] parameters;
    private readonly ClipThresholdRule rule;
    private readonly string? modelName;
    private long finiteSteps;

    /// <summary>Clips the gradients of <paramref name="parameters"/> (e.g. <c>model.parameters()</c>, as given to the optimizer).</summary>
    /// <param name="parameters">
    /// The parameters whose gradients are clipped together, read once, here: anything <c>clip_grad_norm_</c> takes.
    /// </param>
    /// <param name="options">Method and settings; null for the defaults (ZClip: z-score 2.5, EMA 0.97, 25 warm-up steps clipped at 1.0).</param>
    /// <param name="watch">
    /// The watch of the same model, if any: its step reports then show the threshold this clipper applies to the step
    /// (<see cref="GradientStepReport.ClipThreshold"/>), and the telemetry uses its model name.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> is empty, or holds a null or a disposed tensor.</exception>
    public AdaptiveGradientClipper(IEnumerable<Tensor> parameters, AdaptiveClippingOptions? options = null, GradientWatch? watch = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        this.parameters = parameters.ToArray();
        if (this.parameters.Length == 0 || this.parameters.Any(p => p is null))
        {
            throw new ArgumentException("Give the parameters the optimizer updates (e.g. model.parameters()); the sequence was empty or held a null.", nameof(parameters));
        }

        if (Array.FindIndex(this.parameters, p => p.IsInvalid) is var disposed and >= 0)
        {
            throw new ArgumentException($"Parameter {disposed} of the {this.parameters.Length} given has been disposed; give the parameters of a live model.", nameof(parameters));
        }

        Options = options ?? new AdaptiveClippingOptions();
        rule = ClipThresholdRule.For(Options);
        modelName = Options.ModelName ?? watch?.ModelName;
        watch?.ReportThresholdsOf(this);
    }

    /// <summary>The settings this clipper runs with.</summary>
    public AdaptiveClippingOptions Options { get; }

    /// <summary>The threshold applied by the latest <see cref="Clip"/>; null before the first, or while a warm-up has no <see cref="AdaptiveClippingOptions.WarmupMaxNorm"/>.</summary>
    public double? Threshold { get; private set; }

    /// <summary>Calls of <see cref="Clip"/> that found gradients.</summary>
    public long Steps { get; private set; }

    /// <summary>Steps whose gradients were scaled down.</summary>
    public long ClippedSteps { get; private set; }

    /// <summary>Steps whose norm was NaN or infinite (their gradients were zeroed).</summary>
    public long NonFiniteSteps { get; private set; }

    /// <summary>
    /// Clips the gradients in place and returns their total norm before clipping, as <c>clip_grad_norm_</c> does.
    /// Call after <c>loss.backward()</c>, before <c>optimizer.step()</c>. Parameters without a gradient are skipped;
    /// when none has one, returns 0 and changes nothing.
    /// </summary>
    /// <exception cref="ObjectDisposedException">One of the parameters has been disposed (e.g. with its model).</exception>
    public double Clip()
    {
        lock (gate)
        {
            if (Array.FindIndex(parameters, p => p.IsInvalid) is var disposed and >= 0)
            {
                throw new ObjectDisposedException(
                    nameof(AdaptiveGradientClipper),
                    $"AdaptiveGradientClipper.Clip: parameter {disposed} of the {parameters.Length} it clips has been disposed; keep the model alive while it trains.");
            }

            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var gradients = parameters.Select(p => p.grad).OfType<Tensor>().ToArray();
            if (gradients.Length == 0)
            {
                return 0;
            }

            var norm = GlobalNorm(gradients);
            Steps++;
            if (!double.IsFinite(norm))
            {
                NonFiniteSteps++;
                foreach (var gradient in gradients)
                {
                    gradient.zero_();
                }

                return norm;
            }

            if (norm == 0)
            {
                // All-zero gradients (a frozen start, a masked loss) say nothing about the model's scale; taken into the
                // statistics they would set a threshold of zero that wipes out every later gradient.
                return 0;
            }

            var threshold = ThresholdFor(norm);
            rule.Observe(norm, threshold);
            finiteSteps++;
            Threshold = threshold;
            if (threshold is { } maxNorm)
            {
                if (norm > maxNorm)
                {
                    ClippedSteps++;
                    var scale = maxNorm / norm;
                    foreach (var gradient in gradients)
                    {
                        gradient.mul_(scale);
                    }
                }

                ClipTelemetry.RecordThreshold(maxNorm, modelName, Options.Method);
            }

            return norm;
        }
    }

    /// <summary>The threshold <see cref="Clip"/> would apply now to a step of pre-clip norm <paramref name="norm"/>; changes nothing.</summary>
    internal double? PeekThreshold(double norm)
    {
        lock (gate)
        {
            return double.IsFinite(norm) ? ThresholdFor(norm) : null;
        }
    }

    private double? ThresholdFor(double norm) => finiteSteps < Options.WarmupSteps ? Options.WarmupMaxNorm : rule.ThresholdFor(norm);

    /// <summary>
    /// sqrt(Σ ||g_p||²) with each ||g_p|| taken in the gradient's precision and summed in double on the host, in parameter
    /// order: the same figure <see cref="GradientWatch.Record"/> reports, from one device-to-host copy.
    /// </summary>
    private static double GlobalNorm(Tensor[] gradients)
    {
        var norms = stack(gradients.Select(g => g.norm().to(float64)).ToArray()).cpu().data<double>().ToArray();
        var sumOfSquares = 0.0;
        foreach (var norm in norms)
        {
            sumOfSquares += norm * norm;
        }

        return Math.Sqrt(sumOfSquares);
    }
}
