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
}
