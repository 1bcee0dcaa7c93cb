using System.Globalization;
using GradientDiagnostics.Hooks;
using GradientDiagnostics.Measurement;

namespace GradientDiagnostics.Detection;

/// <summary>
/// Decides which of a step's figures are anomalies: non-finite gradients, a global norm far above its running mean
/// (exploding across steps), and profiles whose start is far below (vanishing) or above (exploding) their end.
/// Thresholds come from <see cref="GradientWatchOptions"/>; docs/runtime.md gives their calibration.
/// </summary>
internal sealed class AnomalyDetector(GradientWatchOptions options)
{
    private const int MaxNamedParameters = 10;

    private readonly Queue<double> recentGlobalNorms = new();
    private double recentGlobalNormSum;

    /// <summary>
    /// The anomalies of one step; updates the running mean of the global norm. A profile whose recurrence is still unknown
    /// (a tracked packed input no watched module accounts for) gets the remedies that hold for any gated cell.
    /// </summary>
    public List<GradientAnomaly> Detect(StepFigures figures)
    {
        var anomalies = new List<GradientAnomaly>();
        NonFinite(figures.ParameterNorms, anomalies);
        ExplodingAcrossSteps(figures.GlobalNorm, figures.ParameterNorms.Count, anomalies);
        foreach (var measured in figures.Profiles)
        {
            OverTime(measured.Profile, measured.Measured, measured.Kind ?? RecurrentKind.Gated, anomalies);
        }

        return anomalies;
    }

    private static void NonFinite(IReadOnlyDictionary<string, double> parameterNorms, List<GradientAnomaly> anomalies)
    {
        var bad = parameterNorms.Where(p => !double.IsFinite(p.Value)).Select(p => p.Key).ToList();
        if (bad.Count == 0)
        {
            return;
        }

        var listed = string.Join(", ", bad.Take(MaxNamedParameters));
        var more = bad.Count > MaxNamedParameters ? $" and {bad.Count - MaxNamedParameters} more" : "";
        anomalies.Add(Anomaly(
            GradientAnomalyKind.NonFinite,
            $"Non-finite (NaN or infinite) gradient norm in {bad.Count} parameter(s): {listed}{more}.",
            Remedies.NonFinite));
    }

    private void ExplodingAcrossSteps(double globalNorm, int parameterCount, List<GradientAnomaly> anomalies)
    {
        if (parameterCount == 0 || !double.IsFinite(globalNorm))
        {
            return;
        }

        if (recentGlobalNorms.Count >= options.WarmupSteps)
        {
            var mean = recentGlobalNormSum / recentGlobalNorms.Count;
            if (mean > 0 && globalNorm > options.ExplodingFactor * mean)
            {
                anomalies.Add(Anomaly(
                    GradientAnomalyKind.Exploding,
                    string.Create(CultureInfo.InvariantCulture, $"Global gradient norm {globalNorm:G4} is {globalNorm / mean:G3}× the mean {mean:G4} of the previous {recentGlobalNorms.Count} steps (threshold {options.ExplodingFactor:G3}×)."),
                    Remedies.ExplodingAcrossSteps));
            }
        }

        recentGlobalNorms.Enqueue(globalNorm);
        recentGlobalNormSum += globalNorm;
        while (recentGlobalNorms.Count > options.ExplodingWindow)
        {
            recentGlobalNormSum -= recentGlobalNorms.Dequeue();
        }
    }

    /// <summary>
    /// Compares the gradient at the start of the sequence with the gradient at its end. Each end is the mean norm over
    /// a tenth of the measured timesteps (at least one): a single timestep is noisy (in the adding problem x_0 is rarely
    /// marked), and the calibration showed the end windows keep healthy runs several times further from the threshold.
    /// </summary>
    private void OverTime(TimestepProfile profile, bool[] measured, RecurrentKind kind, List<GradientAnomaly> anomalies)
    {
        var timesteps = Enumerable.Range(0, measured.Length).Where(t => measured[t]).ToArray();
        if (timesteps.Length < 2)
        {
            return;
        }

        var window = Math.Max(1, timesteps.Length / 10);
        var head = timesteps[..window];
        var tail = timesteps[^window..];
        var firstNorm = head.Average(t => profile.Norms[t]);
        var lastNorm = tail.Average(t => profile.Norms[t]);

        // No gradient at the end means the loss does not read it; the ratio would say nothing about time.
        if (!double.IsFinite(firstNorm) || !double.IsFinite(lastNorm) || lastNorm <= 0)
        {
            return;
        }

        var ratio = firstNorm / lastNorm;
        var span = string.Create(CultureInfo.InvariantCulture, $"{profile.Module}: the gradient reaching {Describe(head)} is");
        var detail = string.Create(CultureInfo.InvariantCulture, $"{Describe(tail)} ({firstNorm:G3} vs {lastNorm:G3}");
        if (ratio < options.VanishingRatio)
        {
            anomalies.Add(Anomaly(
                GradientAnomalyKind.Vanishing,
                string.Create(CultureInfo.InvariantCulture, $"{span} {ratio:G3} of the gradient at {detail}; threshold {options.VanishingRatio:G3})."),
                Remedies.Vanishing(kind)));
        }
        else if (ratio > options.ExplodingRatio)
        {
            anomalies.Add(Anomaly(
                GradientAnomalyKind.Exploding,
                string.Create(CultureInfo.InvariantCulture, $"{span} {ratio:G3}× the gradient at {detail}; threshold {options.ExplodingRatio:G3}×)."),
                Remedies.ExplodingOverTime(kind)));
        }

        static string Describe(int[] timesteps) =>
            timesteps.Length == 1
                ? string.Create(CultureInfo.InvariantCulture, $"timestep {timesteps[0]}")
                : string.Create(CultureInfo.InvariantCulture, $"timesteps {timesteps[0]}–{timesteps[^1]}");
    }

    private static GradientAnomaly Anomaly(GradientAnomalyKind kind, string message, Remedy remedy) =>
        new(kind, message, remedy.Text, remedy.Rules);
}
