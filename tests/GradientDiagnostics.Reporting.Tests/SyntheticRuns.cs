namespace GradientDiagnostics.Reporting.Tests;

/// <summary>
/// Step reports with known numbers, for checking what the report writes. (The browser and end-to-end tests
/// use reports from a real GradientWatch on a real model.)
/// </summary>
internal static class SyntheticRuns
{
    /// <summary>The per-timestep norm decays by <paramref name="decay"/> per step back in time.</summary>
    public static GradientStepReport Step(long step, int timesteps, double decay = 0.5, double lastNorm = 1.0, params GradientAnomaly[] anomalies)
    {
        var norms = Enumerable.Range(0, timesteps).Select(t => lastNorm * Math.Pow(decay, timesteps - 1 - t)).ToArray();
        return new GradientStepReport(
            step,
            globalNorm: 2.0 * lastNorm,
            parameterNorms: new Dictionary<string, double> { ["lstm.weight_hh_l0"] = lastNorm, ["head.weight"] = 0.1 * lastNorm },
            timesteps: new[] { new TimestepProfile("lstm", norms) },
            anomalies: anomalies);
    }

    public static GradientReportRun Run(string name, int steps, int timesteps, double decay = 0.5) =>
        new(name, Enumerable.Range(1, steps).Select(s => Step(s, timesteps, decay)).ToArray());
}
