namespace GradientDiagnostics.Reporting.Tests;

public class GradientRunSummaryTests
{
    [Fact]
    public void Summary_counts_clipped_steps_anomalies_and_the_timestep_ratio()
    {
        var exploding = new GradientAnomaly(GradientAnomalyKind.Exploding, "big", "clip gradients — GD0001");
        var steps = new[]
        {
            SyntheticRuns.Step(1, 5, decay: 0.1, lastNorm: 0.25),
            SyntheticRuns.Step(2, 5, decay: 0.1, lastNorm: 1.0),
            SyntheticRuns.Step(3, 5, decay: 0.1, lastNorm: 4.0, exploding),
        };
        var run = new GradientReportRun("rnn", steps)
        {
            ClipThreshold = 1.0,
            Losses = new Dictionary<long, double> { [3] = 0.5, [1] = 0.9, [2] = 0.7 },
        };

        var summary = GradientRunSummary.From(run);

        Assert.Equal(3, summary.Steps);
        Assert.Equal(2.0, summary.MedianGlobalNorm);
        Assert.Equal(8.0, summary.MaxGlobalNorm);
        Assert.Equal(2, summary.StepsAboveClipThreshold);
        Assert.Equal(1, summary.Anomalies[GradientAnomalyKind.Exploding]);
        Assert.Equal(0, summary.Anomalies[GradientAnomalyKind.Vanishing]);
        Assert.Equal(1e-4, summary.FirstToLastTimestepRatio!.Value, 10);
        Assert.Equal(0.5, summary.FinalLoss);
    }

    [Fact]
    public void A_non_finite_step_makes_the_maximum_non_finite_but_keeps_the_median()
    {
        var nan = new GradientStepReport(2, double.NaN, new Dictionary<string, double>(), Array.Empty<TimestepProfile>(), Array.Empty<GradientAnomaly>());
        var run = new GradientReportRun("rnn", new[] { SyntheticRuns.Step(1, 2), nan }) { ClipThreshold = 5.0 };

        var summary = GradientRunSummary.From(run);

        Assert.True(double.IsNaN(summary.MaxGlobalNorm));
        Assert.Equal(2.0, summary.MedianGlobalNorm);
        Assert.Equal(1, summary.StepsAboveClipThreshold);
        Assert.Null(summary.FinalLoss);
    }

    [Fact]
    public void Memory_horizon_and_gain_are_medians_over_the_last_tenth_of_the_finite_steps()
    {
        // 20 steps: the first 18 vanish fast (horizon 2 of 12), the last two reach back 4 and 6; a NaN step is left out.
        var steps = Enumerable.Range(1, 18).Select(s => SyntheticRuns.Step(s, 12, decay: 0.01))
            .Append(SyntheticRuns.Step(19, 12, decay: 0.25))
            .Append(new GradientStepReport(20, double.NaN, new Dictionary<string, double>(), new[] { new TimestepProfile("lstm", Enumerable.Repeat(double.NaN, 12).ToArray()) }, Array.Empty<GradientAnomaly>()))
            .Append(SyntheticRuns.Step(21, 12, decay: 0.3))
            .ToArray();

        var horizon = GradientRunSummary.From(new GradientReportRun("lstm", steps)).MemoryHorizon!;

        Assert.Equal(2, horizon.Steps);
        Assert.Equal((5 + 6) / 2.0, horizon.Horizon);
        Assert.Equal(12, horizon.SequenceLength);
        Assert.Equal((0.25 + 0.3) / 2, horizon.PerStepGain!.Value, 12);
        Assert.Equal("5.5 of 12", horizon.Reach);
    }

    [Fact]
    public void A_run_without_profiles_has_no_horizon_and_unprofiled_modules_are_counted_per_step()
    {
        var blind = Enumerable.Range(1, 3).Select(s => new GradientStepReport(
            s, 1.0, new Dictionary<string, double>(), Array.Empty<TimestepProfile>(), Array.Empty<GradientAnomaly>(), s == 2 ? new[] { "a", "b" } : new[] { "b" })).ToArray();

        var summary = GradientRunSummary.From(new GradientReportRun("blind", blind));

        Assert.Null(summary.MemoryHorizon);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 3 }, summary.Unprofiled);
    }
}
