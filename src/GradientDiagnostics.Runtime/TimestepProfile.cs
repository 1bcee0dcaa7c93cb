namespace GradientDiagnostics;

/// <summary>Gradient norm at every timestep of one recurrent module call (or one tracked input or state).</summary>
public sealed class TimestepProfile
{
    /// <summary>The <see cref="GradientWatchOptions.VanishingRatio"/> default, which <see cref="MemoryHorizon"/> uses unless told otherwise.</summary>
    public const double DefaultVanishingRatio = 1e-3;

    public TimestepProfile(string module, double[] norms)
        : this(module, norms, DefaultVanishingRatio)
    {
    }

    /// <param name="module">See <see cref="Module"/>.</param>
    /// <param name="norms">See <see cref="Norms"/>.</param>
    /// <param name="vanishingRatio">The fraction of the end's gradient that <see cref="MemoryHorizon"/> counts as still arriving; in (0, 1).</param>
    public TimestepProfile(string module, double[] norms, double vanishingRatio)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(norms);
        if (!(vanishingRatio > 0 && vanishingRatio < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(vanishingRatio), vanishingRatio, "vanishingRatio must be greater than 0 and less than 1.");
        }

        Module = module;
        Norms = norms;
        MemoryHorizon = HorizonOf(norms, vanishingRatio);
        PerStepGain = GainOf(norms);
    }

    /// <summary>
    /// The module's name in the model (e.g. <c>encoder.lstm</c>), or the name given to <c>TrackInput</c> or <c>TrackState</c>.
    /// </summary>
    public string Module { get; }

    /// <summary>
    /// <c>Norms[t]</c> = L2 norm over batch and features of dL/dx_t (module input; for a packed input, over the sequences
    /// still active at t) or dL/dh_t (tracked state).
    /// </summary>
    public double[] Norms { get; }

    /// <summary>
    /// How far back the gradient still arrives: counting back from the last timestep, the number of timesteps whose norm
    /// stays at or above the vanishing ratio (<see cref="GradientWatchOptions.VanishingRatio"/>, default 1e-3) times the
    /// mean of <see cref="Norms"/> over the last tenth of the timesteps (at least one); <c>Norms.Length</c> when none falls
    /// below. A model learns a dependency on the input <c>k</c> timesteps before the end only when its horizon exceeds
    /// <c>k</c>. A NaN norm counts as fallen below.
    /// </summary>
    public int MemoryHorizon { get; }

    /// <summary>
    /// The factor by which the gradient changes at each step back in time: the geometric mean of
    /// <c>Norms[t-1] / Norms[t]</c> over the pairs of consecutive timesteps whose norms are both positive and finite
    /// (NaN when there is none). Below 1 the gradient vanishes as it travels back, above 1 it explodes; it is the
    /// effective gain of the recurrent Jacobian that backpropagation through time multiplies by at every step.
    /// </summary>
    public double PerStepGain { get; }

    private static int HorizonOf(double[] norms, double vanishingRatio)
    {
        if (norms.Length == 0)
        {
            return 0;
        }

        var tail = Math.Max(1, norms.Length / 10);
        var sum = 0.0;
        for (var t = norms.Length - tail; t < norms.Length; t++)
        {
            sum += norms[t];
        }

        var threshold = vanishingRatio * (sum / tail);
        var horizon = 0;
        for (var t = norms.Length - 1; t >= 0 && norms[t] >= threshold; t--)
        {
            horizon++;
        }

        return horizon;
    }

    private static double GainOf(double[] norms)
    {
        var sumOfLogs = 0.0;
        var pairs = 0;
        for (var t = 1; t < norms.Length; t++)
        {
            if (Measurable(norms[t - 1]) && Measurable(norms[t]))
            {
                sumOfLogs += Math.Log(norms[t - 1]) - Math.Log(norms[t]);
                pairs++;
            }
        }

        return pairs == 0 ? double.NaN : Math.Exp(sumOfLogs / pairs);

        static bool Measurable(double norm) => norm > 0 && double.IsFinite(norm);
    }
}
