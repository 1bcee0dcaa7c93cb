using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests;

/// <summary>Each anomaly fires on a real training step that has it, and nothing fires on healthy training.</summary>
public class AnomalyTests
{
    [Fact]
    public void Default_initialised_LSTM_over_a_long_sequence_reports_vanishing_with_the_gated_cell_init_remedy()
    {
        using var scope = NewDisposeScope();
        manual_seed(21);
        using var model = new SequenceRegressor(nn.LSTM(2, 32, batchFirst: true), 32, batchFirst: true);
        using var watch = GradientWatch.Attach(model);
        var (inputs, targets) = AddingProblem.Batch(16, 200, seed: 21);

        nn.functional.mse_loss(model.call(inputs), targets).backward();
        var report = watch.Record(1);

        var anomaly = Assert.Single(report.Anomalies);
        Assert.Equal(GradientAnomalyKind.Vanishing, anomaly.Kind);
        Assert.Contains("recurrent", anomaly.Message, StringComparison.Ordinal);
        Assert.Contains("GD0004", anomaly.Remedy, StringComparison.Ordinal);
        Assert.Contains("forget-gate bias", anomaly.Remedy, StringComparison.Ordinal);
        Assert.Equal(new[] { "GD0004" }, anomaly.Rules);
        var norms = Assert.Single(report.Timesteps).Norms;
        Assert.True(norms[0] / norms[^1] < 1e-3);
    }

    [Fact]
    public void Default_initialised_vanilla_RNN_reports_vanishing_with_the_gated_cell_and_orthogonal_init_remedies()
    {
        using var scope = NewDisposeScope();
        manual_seed(22);
        using var model = new SequenceRegressor(nn.RNN(2, 32, batchFirst: true), 32, batchFirst: true);
        using var watch = GradientWatch.Attach(model);
        var (inputs, targets) = AddingProblem.Batch(16, 100, seed: 22);

        nn.functional.mse_loss(model.call(inputs), targets).backward();
        var anomaly = Assert.Single(watch.Record(1).Anomalies);

        Assert.Equal(GradientAnomalyKind.Vanishing, anomaly.Kind);
        Assert.Contains("GD0005", anomaly.Remedy, StringComparison.Ordinal);
        Assert.Contains("GD0003", anomaly.Remedy, StringComparison.Ordinal);
        Assert.Equal(new[] { "GD0005", "GD0003" }, anomaly.Rules);
    }

    [Fact]
    public void A_vanishing_GRU_gets_the_gated_init_remedy_without_any_forget_gate()
    {
        using var scope = NewDisposeScope();
        manual_seed(21);
        using var model = new SequenceRegressor(nn.GRU(2, 32, batchFirst: true), 32, batchFirst: true);
        using var watch = GradientWatch.Attach(model);
        var (inputs, targets) = AddingProblem.Batch(16, 300, seed: 21);

        nn.functional.mse_loss(model.call(inputs), targets).backward();
        var anomaly = Assert.Single(watch.Record(1).Anomalies);

        Assert.Equal(GradientAnomalyKind.Vanishing, anomaly.Kind);
        Assert.Equal(new[] { "GD0004" }, anomaly.Rules);
        Assert.Contains("GD0004", anomaly.Remedy, StringComparison.Ordinal);
        Assert.DoesNotContain("forget", anomaly.Remedy, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("LSTM", anomaly.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public void ReLU_RNN_with_recurrent_weights_1_3_I_reports_exploding_over_time_with_the_clipping_remedy()
    {
        using var scope = NewDisposeScope();
        manual_seed(23);
        var rnn = nn.RNN(2, 16, nonLinearity: nn.NonLinearities.ReLU, batchFirst: true);
        using (no_grad())
        {
            rnn.get_weight_hh(0)!.copy_(eye(16).mul(1.3));
            rnn.get_weight_ih(0)!.abs_(); // positive inputs keep every ReLU unit active
            rnn.get_bias_hh(0)!.zero_();
            rnn.get_bias_ih(0)!.zero_();
        }

        using var model = new SequenceRegressor(rnn, 16, batchFirst: true);
        using var watch = GradientWatch.Attach(model);
        var (inputs, targets) = AddingProblem.Batch(8, 30, seed: 23);

        nn.functional.mse_loss(model.call(inputs), targets).backward();
        var report = watch.Record(1);

        var anomaly = Assert.Single(report.Anomalies);
        Assert.Equal(GradientAnomalyKind.Exploding, anomaly.Kind);
        Assert.Contains("GD0001", anomaly.Remedy, StringComparison.Ordinal);
        Assert.Equal(new[] { "GD0001", "GD0003" }, anomaly.Rules);
        var norms = Assert.Single(report.Timesteps).Norms;
        Assert.True(norms[0] / norms[^1] > 70, $"ratio {norms[0] / norms[^1]}");
    }

    [Fact]
    public void A_step_whose_global_norm_jumps_far_above_the_running_mean_reports_exploding_across_steps()
    {
        using var scope = NewDisposeScope();
        manual_seed(24);
        using var model = AddingProblem.HealthyLstm(hidden: 16);
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { WarmupSteps = 5 });
        var (inputs, targets) = AddingProblem.Batch(16, 20, seed: 24);

        for (var step = 1; step <= 8; step++)
        {
            model.zero_grad();
            nn.functional.mse_loss(model.call(inputs), targets).backward();
            Assert.Empty(watch.Record(step).Anomalies);
        }

        model.zero_grad();
        nn.functional.mse_loss(model.call(inputs), targets).mul(1000).backward();
        var report = watch.Record(9);

        var anomaly = Assert.Single(report.Anomalies);
        Assert.Equal(GradientAnomalyKind.Exploding, anomaly.Kind);
        Assert.Contains("previous 8 steps", anomaly.Message, StringComparison.Ordinal);
        Assert.Contains("GD0001", anomaly.Remedy, StringComparison.Ordinal);
        Assert.Contains("GD0002", anomaly.Remedy, StringComparison.Ordinal);
        Assert.Equal(new[] { "GD0001", "GD0002" }, anomaly.Rules);
    }

    [Fact]
    public void The_across_steps_test_waits_for_the_warm_up()
    {
        using var scope = NewDisposeScope();
        manual_seed(25);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { WarmupSteps = 3 });
        var (inputs, targets) = AddingProblem.Batch(8, 10, seed: 25);

        var scales = new[] { 1.0, 1000.0, 1.0, 1.0, 1.0, 1e6 };
        var fired = new List<bool>();
        for (var step = 0; step < scales.Length; step++)
        {
            model.zero_grad();
            nn.functional.mse_loss(model.call(inputs), targets).mul(scales[step]).backward();
            fired.Add(watch.Record(step).Anomalies.Any(a => a.Kind == GradientAnomalyKind.Exploding));
        }

        Assert.Equal(new[] { false, false, false, false, false, true }, fired);
    }

    [Fact]
    public void A_NaN_weight_reports_non_finite_gradients_naming_the_parameters()
    {
        using var scope = NewDisposeScope();
        manual_seed(26);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        using (no_grad())
        {
            model.named_parameters().Single(p => p.name == "head.weight").parameter[0, 0] = double.NaN;
        }

        var logged = new List<string>();
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { LoggerFactory = new ListLoggerFactory(logged) });
        var (inputs, targets) = AddingProblem.Batch(8, 10, seed: 26);
        nn.functional.mse_loss(model.call(inputs), targets).backward();
        var report = watch.Record(7);

        var anomaly = Assert.Single(report.Anomalies);
        Assert.Equal(GradientAnomalyKind.NonFinite, anomaly.Kind);
        Assert.Contains("head.weight", anomaly.Message, StringComparison.Ordinal);
        Assert.Contains("recurrent.weight_hh_l0", anomaly.Message, StringComparison.Ordinal);
        Assert.Contains("GD0001", anomaly.Remedy, StringComparison.Ordinal);
        Assert.Equal(new[] { "GD0001" }, anomaly.Rules);
        Assert.True(double.IsNaN(report.GlobalNorm));
        Assert.Contains(logged, line => line.Contains("'nonfinite'", StringComparison.Ordinal) && line.Contains("at step 7", StringComparison.Ordinal) && line.Contains("GD0001", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(27)]
    [InlineData(28)]
    [InlineData(29)]
    public void Healthy_clipped_orthogonal_LSTM_training_on_the_adding_problem_stays_quiet_for_100_steps(int seed)
    {
        using var outer = NewDisposeScope();
        manual_seed(seed);
        using var model = AddingProblem.HealthyLstm(hidden: 32);
        using var optimizer = optim.Adam(model.parameters(), 5e-3);
        using var watch = GradientWatch.Attach(model);
        var generator = new Generator((ulong)seed);

        var losses = new List<double>();
        for (var step = 1; step <= 100; step++)
        {
            using var scope = NewDisposeScope();
            var (inputs, targets) = AddingProblem.Batch(32, 30, generator);
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(inputs), targets);
            loss.backward();
            var report = watch.Record(step);
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();

            Assert.True(report.Anomalies.Count == 0, $"step {step}: {string.Join("; ", report.Anomalies)}");
            Assert.True(double.IsFinite(report.GlobalNorm) && report.GlobalNorm > 0);
            losses.Add(loss.item<float>());
        }

        // The run really trains: the last steps beat the first ones.
        Assert.True(losses.TakeLast(10).Average() < losses.Take(10).Average());
    }

    [Fact]
    public void A_vanishing_tracked_state_of_gated_cells_gets_the_gated_init_remedy_and_of_vanilla_cells_the_gated_cell_remedy()
    {
        using var scope = NewDisposeScope();
        manual_seed(30);
        using var lstmCells = new UnrolledCell(inputSize: 2, hidden: 16);
        using var gatedWatch = GradientWatch.Attach(lstmCells);
        lstmCells.OnState = (h, t) => gatedWatch.TrackState(h, t);
        lstmCells.call(rand(200, 4, 2)).sum().backward();
        var gated = Assert.Single(gatedWatch.Record(1).Anomalies);
        Assert.Equal(GradientAnomalyKind.Vanishing, gated.Kind);
        Assert.Contains("GD0004", gated.Remedy, StringComparison.Ordinal);

        using var rnnCell = nn.RNNCell(2, 16);
        using var vanillaWatch = GradientWatch.Attach(rnnCell);
        var h = zeros(4, 16);
        for (var t = 0; t < 200; t++)
        {
            h = rnnCell.call(rand(4, 2), h);
            vanillaWatch.TrackState(h, t);
        }

        h.sum().backward();
        var vanilla = Assert.Single(vanillaWatch.Record(1).Anomalies);
        Assert.Equal(GradientAnomalyKind.Vanishing, vanilla.Kind);
        Assert.Contains("GD0005", vanilla.Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_remedy_names_exactly_the_rules_it_lists()
    {
        foreach (var kind in Enum.GetValues<GradientDiagnostics.Hooks.RecurrentKind>())
        {
            foreach (var remedy in new[]
            {
                GradientDiagnostics.Detection.Remedies.Vanishing(kind),
                GradientDiagnostics.Detection.Remedies.ExplodingOverTime(kind),
                GradientDiagnostics.Detection.Remedies.ExplodingAcrossSteps,
                GradientDiagnostics.Detection.Remedies.NonFinite,
            })
            {
                var named = System.Text.RegularExpressions.Regex.Matches(remedy.Text, @"GD\d{4}").Select(m => m.Value).Distinct();
                Assert.Equal(named, remedy.Rules);
            }
        }
    }
}
