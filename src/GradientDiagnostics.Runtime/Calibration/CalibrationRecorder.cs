using Microsoft.Extensions.Logging;

namespace GradientDiagnostics.Calibration;

/// <summary>
/// What a watch keeps for the calibration file: every recorded step's pre-clip global norm in a
/// <see cref="NormQuantileSketch"/> (constant memory however long the run), how many steps it left out, and how often
/// each memory horizon and profile length occurred (exact counts; as many as there are distinct lengths, at most the
/// longest sequence plus one, whatever the number of steps).
/// </summary>
/// <remarks>
/// A step whose global norm is NaN or infinite is counted in <see cref="NonFiniteSteps"/> and left out of the quantiles:
/// one overflowed step would otherwise drag every upper quantile to infinity, and a threshold cannot be infinite; its
/// profiles are left out of the horizons too. A step in which no parameter had a gradient (Record without backward)
/// measured nothing and is not counted at all. The recommendation is taken from the healthy steps only — those the watch
/// found neither exploding nor non-finite (<see cref="ClipRecommendation"/>).
/// Thread-safe: <see cref="Add"/> runs in the training loop, a snapshot may be taken from any thread.
/// </remarks>
internal sealed class CalibrationRecorder
{
    private readonly object gate = new();
    private readonly NormQuantileSketch globalNorms = new();
    private readonly NormQuantileSketch healthyNorms = new();
    private readonly SortedDictionary<int, long> horizons = new();
    private readonly SortedDictionary<int, long> profileLengths = new();
    private long nonFiniteSteps;
    private long unhealthySteps;

    /// <summary>Steps left out of the quantiles because their global norm was NaN or infinite.</summary>
    public long NonFiniteSteps
    {
        get
        {
            lock (gate)
            {
                return nonFiniteSteps;
            }
        }
    }

    public void Add(GradientStepReport report)
    {
        if (report.ParameterNorms.Count == 0)
        {
            return;
        }

        lock (gate)
        {
            var finite = double.IsFinite(report.GlobalNorm);
            if (finite && !report.Anomalies.Any(a => a.Kind is GradientAnomalyKind.Exploding or GradientAnomalyKind.NonFinite))
            {
                healthyNorms.Add(report.GlobalNorm);
            }
            else
            {
                unhealthySteps++;
            }

            if (finite)
            {
                globalNorms.Add(report.GlobalNorm);
                foreach (var profile in report.Timesteps.Where(p => p.Norms.Length > 0))
                {
                    horizons[profile.MemoryHorizon] = horizons.GetValueOrDefault(profile.MemoryHorizon) + 1;
                    profileLengths[profile.Norms.Length] = profileLengths.GetValueOrDefault(profile.Norms.Length) + 1;
                }
            }
            else
            {
                nonFiniteSteps++;
            }
        }
    }

    /// <summary>The file entry of <paramref name="model"/> from the steps recorded so far.</summary>
    /// <exception cref="InvalidOperationException">
    /// No step had a finite, positive global norm, or more than a tenth of the steps were non-finite (the run diverged):
    /// there is nothing to calibrate a threshold from.
    /// </exception>
    public CalibrationEntry Snapshot(string model)
    {
        lock (gate)
        {
            if (globalNorms.Count == 0 || globalNorms.Max == 0)
            {
                var recorded = globalNorms.Count == 0
                    ? $"no step with a finite global norm was recorded ({nonFiniteSteps} non-finite)"
                    : $"every one of the {globalNorms.Count} recorded global norms was 0";
                throw new InvalidOperationException(
                    $"Nothing to calibrate for model '{model}': {recorded}. Call GradientWatch.Record after each backward() of a training step.");
            }

            var recommended = ClipRecommendation.From(healthyNorms, unhealthySteps) ?? throw new InvalidOperationException(
                $"Model '{model}' exploded: {unhealthySteps} of its {globalNorms.Count + nonFiniteSteps} recorded steps had exploding or non-finite " +
                $"gradients ({nonFiniteSteps} non-finite), so its norms describe the explosion, not the model, and no clip threshold can be " +
                "recommended from them. Calibrate a run that stays healthy (clip with clip_grad_norm_ or AdaptiveGradientClipper); until then " +
                "the analyzer uses its configured default.");
            var quantiles = new NormQuantiles(
                globalNorms.Quantile(0.10),
                globalNorms.Quantile(0.50),
                globalNorms.Quantile(0.90),
                globalNorms.Quantile(0.99),
                globalNorms.Max);
            var horizon = horizons.Count == 0 ? null : new MemoryHorizonMedian(Median(horizons), Median(profileLengths));
            return new CalibrationEntry(model, globalNorms.Count, quantiles, recommended, horizon);
        }
    }

    /// <summary>The value of rank ⌊(n − 1) / 2⌋ among counted values, the rank the sketch's quantiles use.</summary>
    private static int Median(SortedDictionary<int, long> counts)
    {
        var rank = (counts.Values.Sum() - 1) / 2;
        var seen = 0L;
        foreach (var (value, count) in counts)
        {
            seen += count;
            if (seen > rank)
            {
                return value;
            }
        }

        throw new System.Diagnostics.UnreachableException("The counts add up to their sum.");
    }

    /// <summary>Writes the entry of <paramref name="model"/> into the file at <paramref name="path"/> (see <see cref="CalibrationFile.Write"/>).</summary>
    public void Write(string path, string model, ILogger logger)
    {
        // A bad path is the caller's mistake whatever was recorded: name it before judging the recording.
        CalibrationFile.FullFilePath(path);
        var entry = Snapshot(model);
        var fullPath = CalibrationFile.Write(path, entry);
        CalibrationLog.Written(logger, entry.Model, fullPath, entry.Steps, entry.RecommendedClipNorm, NonFiniteSteps);
    }

    /// <summary>
    /// <see cref="Write"/> for <c>Dispose</c>: whatever goes wrong (a malformed existing file, a folder that cannot be
    /// written, nothing recorded) is logged and the training process goes on; the existing file is never replaced by a
    /// malformed one.
    /// </summary>
    public void TryWrite(string path, string model, ILogger logger)
    {
        try
        {
            Write(path, model, logger);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            CalibrationLog.NotWritten(logger, exception, model, path);
        }
    }
}
