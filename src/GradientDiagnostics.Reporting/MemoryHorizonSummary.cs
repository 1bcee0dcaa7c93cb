using System.Globalization;

namespace GradientDiagnostics.Reporting;

/// <summary>
/// The memory horizon and per-step gain of a run's first recurrent profile at the end of training: the medians of
/// <see cref="TimestepProfile.MemoryHorizon"/> and <see cref="TimestepProfile.PerStepGain"/> over the last tenth (at least
/// one) of the steps whose first profile has only finite norms (a NaN step says nothing about how far the gradient reaches).
/// </summary>
public sealed class MemoryHorizonSummary
{
    private MemoryHorizonSummary(string module, double horizon, int sequenceLength, double? perStepGain, int steps)
    {
        Module = module;
        Horizon = horizon;
        SequenceLength = sequenceLength;
        PerStepGain = perStepGain;
        Steps = steps;
    }

    /// <summary>The profile summarised (the first of each step).</summary>
    public string Module { get; }

    /// <summary>Median memory horizon, in timesteps (a half-integer when the median falls between two steps).</summary>
    public double Horizon { get; }

    /// <summary>The profile's length (<c>Norms.Length</c>) in the last of those steps.</summary>
    public int SequenceLength { get; }

    /// <summary>Median per-step gain; null when no step had two measurable timesteps.</summary>
    public double? PerStepGain { get; }

    /// <summary>How many steps the medians are over.</summary>
    public int Steps { get; }

    /// <summary>"4 of 50": how many of the sequence's timesteps the gradient reaches back.</summary>
    public string Reach => string.Create(CultureInfo.InvariantCulture, $"{Horizon:0.#} of {SequenceLength}");

    /// <summary>Null when no step has a finite first profile.</summary>
    public static MemoryHorizonSummary? From(IReadOnlyList<GradientStepReport> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var finite = steps
            .Select(s => s.Timesteps.Count > 0 ? s.Timesteps[0] : null)
            .OfType<TimestepProfile>()
            .Where(p => p.Norms.Length > 0 && p.Norms.All(double.IsFinite))
            .ToArray();
        if (finite.Length == 0)
        {
            return null;
        }

        var last = finite[^Math.Max(1, finite.Length / 10)..];
        var gains = last.Select(p => p.PerStepGain).Where(double.IsFinite).Order().ToArray();
        return new MemoryHorizonSummary(
            last[^1].Module,
            GradientRunSummary.Median(last.Select(p => (double)p.MemoryHorizon).Order().ToArray()),
            last[^1].Norms.Length,
            gains.Length == 0 ? null : GradientRunSummary.Median(gains),
            last.Length);
    }
}
