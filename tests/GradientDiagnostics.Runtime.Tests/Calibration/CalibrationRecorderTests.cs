using GradientDiagnostics.Calibration;

namespace GradientDiagnostics.Runtime.Tests.Calibration;

/// <summary>What the recorder makes of step reports: the memory-horizon median, and the steps it leaves out.</summary>
public sealed class CalibrationRecorderTests
{
    [Fact]
    public void The_memory_horizon_is_the_median_over_every_profile_of_every_finite_step_with_the_profiles_length()
    {
        var recorder = new CalibrationRecorder();
        recorder.Add(Report(1.0, Profile(horizon: 2, length: 20), Profile(horizon: 20, length: 20)));
        recorder.Add(Report(2.0, Profile(horizon: 5, length: 20)));
        recorder.Add(Report(3.0, Profile(horizon: 7, length: 30)));
        recorder.Add(Report(double.NaN, Profile(horizon: 1, length: 40), Profile(horizon: 1, length: 40)));
        recorder.Add(Report(4.0));

        var entry = recorder.Snapshot("M");

        // Horizons 2, 5, 7, 20 (the NaN step's are left out): rank ⌊3 / 2⌋ = 1 → 5; lengths 20, 20, 20, 30 → 20.
        Assert.Equal(new MemoryHorizonMedian(5, 20), entry.MemoryHorizon);
        Assert.Equal(4, entry.Steps);
        Assert.Equal(1, recorder.NonFiniteSteps);
    }

    [Fact]
    public void Without_profiles_there_is_no_memory_horizon()
    {
        var recorder = new CalibrationRecorder();
        recorder.Add(Report(0.5));

        Assert.Null(recorder.Snapshot("M").MemoryHorizon);
    }

    [Fact]
    public void A_step_without_gradients_is_not_a_step()
    {
        var recorder = new CalibrationRecorder();
        recorder.Add(Report(0.5));
        recorder.Add(new GradientStepReport(2, 0, new Dictionary<string, double>(), Array.Empty<TimestepProfile>(), Array.Empty<GradientAnomaly>()));

        Assert.Equal(1, recorder.Snapshot("M").Steps);
    }

    [Fact]
    public void Mostly_zero_norms_recommend_the_next_positive_figure_not_zero()
    {
        var recorder = new CalibrationRecorder();
        foreach (var norm in Enumerable.Repeat(0.0, 95).Concat(Enumerable.Repeat(2.0, 5)))
        {
            recorder.Add(Report(norm));
        }

        var entry = recorder.Snapshot("M");

        Assert.Equal(0, entry.GlobalNorm.P90);
        Assert.Equal(2.0, entry.RecommendedClipNorm, 0.02);
    }

    [Fact]
    public void Steps_the_watch_found_exploding_count_above_every_healthy_one_and_a_run_of_them_recommends_nothing()
    {
        var exploding = new[] { new GradientAnomaly(GradientAnomalyKind.Exploding, "jump", "clip gradients — GD0001") };
        var recorder = new CalibrationRecorder();
        foreach (var norm in Enumerable.Range(1, 18))
        {
            recorder.Add(Report(norm));
        }

        recorder.Add(Report(500, exploding));
        recorder.Add(Report(0.5, exploding));

        // 20 steps, rank ⌊0.9 · 19⌋ = 17 among 1…18 and two steps above them all: 18, although one flagged norm was 0.5.
        var entry = recorder.Snapshot("M");
        Assert.Equal(18, entry.RecommendedClipNorm);
        Assert.Equal(500, entry.GlobalNorm.Max);

        recorder.Add(Report(600, exploding));
        var error = Assert.Throws<InvalidOperationException>(() => recorder.Snapshot("M"));
        Assert.Contains("Model 'M' exploded: 3 of its 21 recorded steps had exploding or non-finite gradients (0 non-finite)", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A profile whose horizon is <paramref name="horizon"/>: the gradient vanishes just before the last <paramref name="horizon"/> timesteps.</summary>
    private static TimestepProfile Profile(int horizon, int length)
    {
        var norms = Enumerable.Range(0, length).Select(t => t < length - horizon ? 1e-9 : 1.0).ToArray();
        var profile = new TimestepProfile("lstm", norms);
        Assert.Equal(horizon, profile.MemoryHorizon);
        return profile;
    }

    private static GradientStepReport Report(double globalNorm, params TimestepProfile[] profiles) =>
        new(1, globalNorm, new Dictionary<string, double> { ["w"] = globalNorm }, profiles, Array.Empty<GradientAnomaly>());

    private static GradientStepReport Report(double globalNorm, GradientAnomaly[] anomalies) =>
        new(1, globalNorm, new Dictionary<string, double> { ["w"] = globalNorm }, Array.Empty<TimestepProfile>(), anomalies);
}
