using TorchSharp;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests;

/// <summary>The watch's per-timestep norms equal gradients computed independently by autograd, in float64.</summary>
public class TimestepProfileTests
{
    [Fact]
    public void Batch_first_LSTM_profile_equals_the_input_gradient_per_timestep()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var model = new SequenceRegressor(nn.LSTM(3, 8, batchFirst: true), 8, batchFirst: true);
        model.to(float64);
        var x = randn(4, 12, 3, dtype: float64);
        var target = randn(4, 1, dtype: float64);

        var expected = ReferenceInputNorms(model, x, target, timeDimension: 1);

        using var watch = GradientWatch.Attach(model);
        model.zero_grad();
        nn.functional.mse_loss(model.call(x), target).backward();
        var report = watch.Record(1);

        var profile = Assert.Single(report.Timesteps);
        Assert.Equal("recurrent", profile.Module);
        Reference.AssertClose(expected, profile.Norms);
    }

    [Fact]
    public void Sequence_first_GRU_profile_equals_the_input_gradient_per_timestep()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        using var model = new SequenceRegressor(nn.GRU(5, 6), 6, batchFirst: false);
        model.to(float64);
        var x = randn(9, 3, 5, dtype: float64);
        var target = randn(3, 1, dtype: float64);

        var expected = ReferenceInputNorms(model, x, target, timeDimension: 0);

        using var watch = GradientWatch.Attach(model);
        model.zero_grad();
        nn.functional.mse_loss(model.call(x), target).backward();
        var report = watch.Record(1);

        Reference.AssertClose(expected, Assert.Single(report.Timesteps).Norms);
    }

    [Fact]
    public void Vanilla_RNN_profile_equals_the_input_gradient_per_timestep()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var model = new SequenceRegressor(nn.RNN(2, 4, numLayers: 2, batchFirst: true), 4, batchFirst: true);
        model.to(float64);
        var x = randn(2, 7, 2, dtype: float64);
        var target = randn(2, 1, dtype: float64);

        var expected = ReferenceInputNorms(model, x, target, timeDimension: 1);

        using var watch = GradientWatch.Attach(model);
        model.zero_grad();
        nn.functional.mse_loss(model.call(x), target).backward();
        Reference.AssertClose(expected, Assert.Single(watch.Record(1).Timesteps).Norms);
    }

    /// <summary>
    /// With as many timesteps as sequences the shapes cannot tell which dimension is time, and TorchSharp 0.107.0 exposes
    /// batch_first nowhere; the call's own outputs tell it.
    /// </summary>
    [Theory]
    [InlineData("lstm", true)]
    [InlineData("lstm", false)]
    [InlineData("bidirectional-gru", true)]
    [InlineData("bidirectional-gru", false)]
    [InlineData("rnn", false)]
    public void With_as_many_timesteps_as_sequences_the_profile_still_runs_along_time(string cell, bool batchFirst)
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        nn.Module recurrent = cell switch
        {
            "lstm" => nn.LSTM(3, 4, batchFirst: batchFirst),
            "bidirectional-gru" => nn.GRU(3, 4, numLayers: 2, batchFirst: batchFirst, bidirectional: true),
            _ => nn.RNN(3, 4, batchFirst: batchFirst),
        };
        using var model = new SequenceRegressor(recurrent, cell == "bidirectional-gru" ? 8 : 4, batchFirst);
        model.to(float64);
        var x = randn(6, 6, 3, dtype: float64);
        var target = randn(6, 1, dtype: float64);

        var expected = ReferenceInputNorms(model, x, target, timeDimension: batchFirst ? 1 : 0);

        using var watch = GradientWatch.Attach(model);
        model.zero_grad();
        nn.functional.mse_loss(model.call(x), target).backward();
        var report = watch.Record(1);

        Reference.AssertClose(expected, Assert.Single(report.Timesteps).Norms);
        Assert.Empty(report.Unprofiled);
    }

    /// <summary>
    /// A decoder run one step at a time with batch 1 calls its LSTM with (1, 1, F): one timestep either way, profiled as
    /// such, and no ground for guessing the layout of a later (N, T, F) call of the same module.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Single_step_calls_with_batch_1_are_profiled_and_leave_the_layout_to_later_calls(bool batchFirst)
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        using var lstm = nn.LSTM(3, 4, batchFirst: batchFirst);
        lstm.to(float64);
        using var watch = GradientWatch.Attach(lstm);

        var steps = Enumerable.Range(0, 3).Select(_ => randn(1, 1, 3, dtype: float64).requires_grad_(true)).ToList();
        (Tensor, Tensor)? state = null;
        var loss = zeros(1, dtype: float64);
        foreach (var x in steps)
        {
            var (output, h, c) = lstm.call(x, state);
            state = (h, c);
            loss = loss + output.pow(2).sum();
        }

        loss.backward();
        var decoded = watch.Record(1);
        var sequence = randn(batchFirst ? new long[] { 5, 8, 3 } : new long[] { 8, 5, 3 }, dtype: float64).requires_grad_(true);
        lstm.call(sequence).Item1.pow(2).sum().backward();
        var trained = watch.Record(2);

        Assert.Empty(decoded.Unprofiled);
        Assert.Equal(new[] { "LSTM", "LSTM#2", "LSTM#3" }, decoded.Timesteps.Select(p => p.Module));
        Reference.AssertClose(steps.Select(x => x.grad!.norm().item<double>()).ToArray(), decoded.Timesteps.Select(p => Assert.Single(p.Norms)).ToArray());
        Reference.AssertClose(Reference.NormsOverTime(sequence.grad!, batchFirst ? 1 : 0), Assert.Single(trained.Timesteps).Norms);
    }

    [Fact]
    public void Stacked_bidirectional_LSTM_after_an_embedding_profile_equals_the_embedding_output_gradient()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var model = new EmbeddingClassifier(vocabulary: 20, embeddingSize: 6, hidden: 5, layers: 2, bidirectional: true);
        model.to(float64);
        var tokens = randint(0, 20, new long[] { 11, 3 });
        var labels = randint(0, 3, new long[] { 3 });

        Tensor? embedded = null;
        model.OnEncoderInput = e =>
        {
            e.retain_grad();
            embedded = e;
        };
        nn.functional.cross_entropy(model.call(tokens), labels).backward();
        var expected = Reference.NormsOverTime(embedded!.grad!, 0);
        model.OnEncoderInput = null;
        model.zero_grad();

        using var watch = GradientWatch.Attach(model);
        nn.functional.cross_entropy(model.call(tokens), labels).backward();
        var report = watch.Record(1);

        var profile = Assert.Single(report.Timesteps);
        Assert.Equal("encoder", profile.Module);
        Reference.AssertClose(expected, profile.Norms);
    }

    [Fact]
    public void Tracked_LSTMCell_states_equal_autograd_grad_of_the_loss_with_respect_to_each_state()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new UnrolledCell(inputSize: 3, hidden: 7);
        model.to(float64);
        var x = randn(10, 4, 3, dtype: float64);
        var target = randn(4, 1, dtype: float64);

        var states = new List<Tensor>();
        model.OnState = (h, _) => states.Add(h);
        var referenceLoss = nn.functional.mse_loss(model.call(x), target);
        var grads = autograd.grad(new[] { referenceLoss }, states, allow_unused: true);
        var expected = grads.Select(g => g.norm().item<double>()).ToArray();

        using var watch = GradientWatch.Attach(model);
        model.OnState = (h, t) => watch.TrackState(h, t, "cell.h");
        model.zero_grad();
        nn.functional.mse_loss(model.call(x), target).backward();
        var report = watch.Record(1);

        var profile = Assert.Single(report.Timesteps);
        Assert.Equal("cell.h", profile.Module);
        Reference.AssertClose(expected, profile.Norms);
        Assert.Empty(watch.WatchedModules);
    }

    [Fact]
    public void Each_call_of_a_module_in_one_step_gets_its_own_profile_and_the_count_restarts_each_step()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        using var model = new SiameseEncoder(2, 4);
        model.to(float64);
        var left = randn(3, 5, 2, dtype: float64);
        var right = randn(3, 8, 2, dtype: float64);

        var leftRef = left.clone().requires_grad_(true);
        var rightRef = right.clone().requires_grad_(true);
        model.call(leftRef, rightRef).backward();
        var expectedLeft = Reference.NormsOverTime(leftRef.grad!, 1);
        var expectedRight = Reference.NormsOverTime(rightRef.grad!, 1);
        model.zero_grad();

        using var watch = GradientWatch.Attach(model);
        for (var step = 1; step <= 2; step++)
        {
            model.zero_grad();
            model.call(left, right).backward();
            var report = watch.Record(step);

            Assert.Equal(new[] { "lstm", "lstm#2" }, report.Timesteps.Select(p => p.Module));
            Reference.AssertClose(expectedLeft, report.Timesteps[0].Norms);
            Reference.AssertClose(expectedRight, report.Timesteps[1].Norms);
        }
    }

    [Fact]
    public void Record_without_backward_reports_no_profile_and_no_parameter_norm()
    {
        using var scope = NewDisposeScope();
        using var model = new SequenceRegressor(nn.GRU(2, 3, batchFirst: true), 3, batchFirst: true);
        using var watch = GradientWatch.Attach(model);
        model.call(rand(2, 4, 2));

        var report = watch.Record(1);

        Assert.Empty(report.Timesteps);
        Assert.Empty(report.ParameterNorms);
        Assert.Equal(0, report.GlobalNorm);
        Assert.Empty(report.Anomalies);
    }

    [Fact]
    public void Parameter_norms_use_named_parameter_names_and_the_global_norm_is_what_clip_grad_norm_measures()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var model = new SequenceRegressor(nn.LSTM(3, 4, batchFirst: true), 4, batchFirst: true);
        model.to(float64);
        var x = randn(2, 6, 3, dtype: float64);

        using var watch = GradientWatch.Attach(model);
        model.call(x).sum().backward();
        var report = watch.Record(42);

        Assert.Equal(42, report.Step);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), report.ParameterNorms.Keys.OrderBy(n => n, StringComparer.Ordinal));
        foreach (var (name, parameter) in model.named_parameters())
        {
            Assert.Equal(parameter.grad!.norm().item<double>(), report.ParameterNorms[name], 12);
        }

        // clip_grad_norm_ with an infinite threshold returns the total norm and changes nothing.
        var total = nn.utils.clip_grad_norm_(model.parameters(), double.PositiveInfinity);
        Assert.Equal(total, report.GlobalNorm, 10);
    }

    [Fact]
    public void Parameters_without_a_gradient_are_left_out_of_the_parameter_norms()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        using var model = new SequenceRegressor(nn.LSTM(3, 4, batchFirst: true), 4, batchFirst: true);
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (name.StartsWith("head", StringComparison.Ordinal))
            {
                parameter.requires_grad = false;
            }
        }

        using var watch = GradientWatch.Attach(model);
        model.call(randn(2, 6, 3)).sum().backward();
        var report = watch.Record(1);

        Assert.DoesNotContain(report.ParameterNorms.Keys, k => k.StartsWith("head", StringComparison.Ordinal));
        Assert.Contains("recurrent.weight_hh_l0", report.ParameterNorms.Keys);
    }

    /// <summary>
    /// Models train in float32, and the gradients worth watching are the extreme ones: a vanishing tanh RNN's reach 1e-30
    /// at the start of the sequence, an exploding ReLU RNN's 1e22. Both are ordinary float32 values, but their squares
    /// leave float32's range (below 1e-38 they flush to 0, above 3.4e38 they become infinite), so a norm summed in float32
    /// reads 0 or infinity where the gradient is finite and non-zero.
    /// </summary>
    [Theory]
    [InlineData(0.2, nn.NonLinearities.Tanh)]
    [InlineData(1.7, nn.NonLinearities.ReLU)]
    public void Float32_profiles_are_exact_where_the_squared_gradients_leave_float32s_range(double recurrentScale, nn.NonLinearities nonLinearity)
    {
        using var scope = NewDisposeScope();
        manual_seed(10);
        var rnn = nn.RNN(2, 16, nonLinearity: nonLinearity, batchFirst: true);
        using (no_grad())
        {
            rnn.get_weight_hh(0)!.copy_(eye(16).mul(recurrentScale));
            rnn.get_weight_ih(0)!.abs_(); // positive inputs keep every ReLU unit active
        }

        using var model = new SequenceRegressor(rnn, 16, batchFirst: true);
        var (inputs, targets) = AddingProblem.Batch(8, 50, seed: 10);

        var input = inputs.clone().requires_grad_(true);
        nn.functional.mse_loss(model.call(input), targets).backward();
        var expected = Reference.NormsOverTime(input.grad!.to(float64), timeDimension: 1);
        // The case this test is about: norms whose squares fall below or above float32's range (1.2e-38 … 3.4e38).
        Assert.True(expected.Where(n => n > 0).Min() < 1e-20 || expected.Max() > 1e20, $"norms from {expected.Min():G3} to {expected.Max():G3}");
        model.zero_grad();

        using var watch = GradientWatch.Attach(model);
        nn.functional.mse_loss(model.call(inputs), targets).backward();
        var report = watch.Record(1);

        var profile = Assert.Single(report.Timesteps);
        Reference.AssertClose(expected, profile.Norms);
        var expectedKind = recurrentScale > 1 ? GradientAnomalyKind.Exploding : GradientAnomalyKind.Vanishing;
        Assert.Contains(report.Anomalies, a => a.Kind == expectedKind);
    }

    /// <summary>dL/dx per timestep from a separate, unwatched run with an input that requires grad.</summary>
    private static double[] ReferenceInputNorms(nn.Module<Tensor, Tensor> model, Tensor x, Tensor target, int timeDimension)
    {
        var input = x.clone().requires_grad_(true);
        model.zero_grad();
        nn.functional.mse_loss(model.call(input), target).backward();
        var norms = Reference.NormsOverTime(input.grad!, timeDimension);
        model.zero_grad();
        return norms;
    }
}
