namespace GradientDiagnostics.Reporting;

/// <summary>The figures a report's summary table shows for one run; usable on its own, e.g. for a console table.</summary>
public sealed class GradientRunSummary
{
    private GradientRunSummary(
        GradientReportRun run,
        double medianGlobalNorm,
        double maxGlobalNorm,
        int stepsAboveClipThreshold,
        IReadOnlyDictionary<GradientAnomalyKind, int> anomalies,
        double? firstToLastTimestepRatio,
        double? finalLoss,
        MemoryHorizonSummary? memoryHorizon,
        IReadOnlyDictionary<string, int> unprofiled)
    {
        Name = run.Name;
        Steps = run.Steps.Count;
        ClipThreshold = run.ClipThreshold;
        MedianGlobalNorm = medianGlobalNorm;
        MaxGlobalNorm = maxGlobalNorm;
        StepsAboveClipThreshold = stepsAboveClipThreshold;
        Anomalies = anomalies;
        FirstToLastTimestepRatio = firstToLastTimestepRatio;
        FinalLoss = finalLoss;
        MemoryHorizon = memoryHorizon;
        Unprofiled = unprofiled;
    }

    public string Name { get; }

    public int Steps { get; }

    public double? ClipThreshold { get; }

    /// <summary>Median of the finite global norms; NaN when there are none.</summary>
    public double MedianGlobalNorm { get; }

    /// <summary>Largest global norm, infinite or NaN if any step had non-finite gradients.</summary>
    public double MaxGlobalNorm { get; }

    /// <summary>Steps whose global norm exceeded <see cref="ClipThreshold"/> or was not finite: the steps clipping had to act on.</summary>
    public int StepsAboveClipThreshold { get; }

    /// <summary>Anomaly count per kind (every kind present, zero when none).</summary>
    public IReadOnlyDictionary<GradientAnomalyKind, int> Anomalies { get; }

    public int TotalAnomalies => Anomalies.Values.Sum();

    /// <summary>
    /// How much gradient reaches the first timestep compared with the last, for the first recurrent profile:
    /// the median over steps of <c>Norms[0] / Norms[^1]</c>. Around 1 the signal survives the whole sequence;
    /// orders of magnitude below 1 it vanishes, above 1 it explodes. Null without per-timestep data.
    /// </summary>
    public double? FirstToLastTimestepRatio { get; }

    /// <summary>Mean loss over the last tenth of the recorded steps (at least one), when losses were given.</summary>
    public double? FinalLoss { get; }

    /// <summary>
    /// How far back the first recurrent profile's gradient reaches at the end of training, and its per-step gain: medians
    /// over the last tenth (at least one) of the steps whose first profile is finite. Null without such profiles.
    /// </summary>
    public MemoryHorizonSummary? MemoryHorizon { get; }

    /// <summary>
    /// Watched modules that received gradients but produced no profile (<see cref="GradientStepReport.Unprofiled"/>), with the
    /// number of steps each was listed; empty when the watch saw everything.
    /// </summary>
    public IReadOnlyDictionary<string, int> Unprofiled { get; }

    public static GradientRunSummary From(GradientReportRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var norms = run.Steps.Select(s => s.GlobalNorm).ToArray();
        var finite = norms.Where(double.IsFinite).Order().ToArray();
        var median = finite.Length == 0 ? double.NaN : Median(finite);
        var max = norms.Length == 0 ? double.NaN
            : norms.Any(double.IsNaN) ? double.NaN
            : norms.Max();
        var aboveThreshold = run.ClipThreshold is { } threshold ? norms.Count(n => !(n <= threshold)) : 0;

        var anomalies = Enum.GetValues<GradientAnomalyKind>().ToDictionary(kind => kind, _ => 0);
        foreach (var anomaly in run.Steps.SelectMany(s => s.Anomalies))
        {
            anomalies[anomaly.Kind]++;
        }

        var ratios = run.Steps
            .Select(s => s.Timesteps.FirstOrDefault(p => p.Norms.Length >= 2))
            .Where(p => p is not null && p.Norms[^1] > 0 && double.IsFinite(p.Norms[0]) && double.IsFinite(p.Norms[^1]))
            .Select(p => p!.Norms[0] / p.Norms[^1])
            .Order()
            .ToArray();

        return new GradientRunSummary(
            run,
            median,
            max,
            aboveThreshold,
            anomalies,
            ratios.Length == 0 ? null : Median(ratios),
            FinalLossOf(run),
            MemoryHorizonSummary.From(run.Steps),
            UnprofiledOf(run));
    }

    private static SortedDictionary<string, int> UnprofiledOf(GradientReportRun run)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var module in run.Steps.SelectMany(s => s.Unprofiled))
        {
            counts[module] = counts.GetValueOrDefault(module) + 1;
        }

        return counts;
    }

    private static double? FinalLossOf(GradientReportRun run)
    {
        if (run.Losses is not { Count: > 0 } losses)
        {
            return null;
        }

        var ordered = losses.OrderBy(pair => pair.Key).Select(pair => pair.Value).ToArray();
        var tail = Math.Max(1, ordered.Length / 10);
        return ordered[^tail..].Average();
    }

    internal static double Median(double[] sorted) => sorted.Length % 2 == 1
        ? sorted[sorted.Length / 2]
        : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}
