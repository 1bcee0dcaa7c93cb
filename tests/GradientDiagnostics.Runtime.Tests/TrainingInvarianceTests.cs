using TorchSharp;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests;

/// <summary>Watching must not change a single bit of what training computes.</summary>
public class TrainingInvarianceTests
{
    [Fact]
    public void Embedding_LSTM_parameter_gradients_are_bitwise_identical_with_and_without_the_watch_and_the_embedding_learns()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var model = new EmbeddingClassifier(vocabulary: 30, embeddingSize: 8, hidden: 6, layers: 2, bidirectional: true);
        var tokens = randint(0, 30, new long[] { 15, 4 });
        var labels = randint(0, 3, new long[] { 4 });

        var unwatched = GradientsAfterOneStep(model, () => nn.functional.cross_entropy(model.call(tokens), labels));
        var unwatchedAgain = GradientsAfterOneStep(model, () => nn.functional.cross_entropy(model.call(tokens), labels));
        AssertSameGradients(unwatched, unwatchedAgain); // the baseline itself is reproducible

        using var watch = GradientWatch.Attach(model);
        var watched = GradientsAfterOneStep(model, () => nn.functional.cross_entropy(model.call(tokens), labels));
        var report = watch.Record(1);

        AssertSameGradients(unwatched, watched);
        Assert.True(watched["embedding.weight"].abs().sum().item<float>() > 0, "the embedding must keep receiving gradient");
        Assert.Single(report.Timesteps);
    }

    [Fact]
    public void Raw_input_LSTM_parameter_gradients_are_bitwise_identical_and_the_input_is_left_untouched()
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        using var model = new SequenceRegressor(nn.LSTM(2, 16, batchFirst: true), 16, batchFirst: true);
        var x = rand(8, 20, 2);
        var target = rand(8, 1);

        var unwatched = GradientsAfterOneStep(model, () => nn.functional.mse_loss(model.call(x), target));
        using var watch = GradientWatch.Attach(model);
        var watched = GradientsAfterOneStep(model, () => nn.functional.mse_loss(model.call(x), target));
        watch.Record(1);

        AssertSameGradients(unwatched, watched);
        Assert.False(x.requires_grad);
        Assert.Null(x.grad);
    }

    [Fact]
    public void A_user_input_that_requires_grad_receives_the_same_gradient_as_without_the_watch()
    {
        using var scope = NewDisposeScope();
        manual_seed(13);
        using var model = new SequenceRegressor(nn.GRU(3, 5), 5, batchFirst: false);
        var data = randn(6, 2, 3);

        var plain = data.clone().requires_grad_(true);
        model.call(plain).sum().backward();
        model.zero_grad();

        using var watch = GradientWatch.Attach(model);
        var watchedInput = data.clone().requires_grad_(true);
        model.call(watchedInput).sum().backward();
        var report = watch.Record(1);

        Assert.True(Reference.Identical(plain.grad!, watchedInput.grad!));
        Assert.True(watchedInput.is_leaf);
        Assert.Single(report.Timesteps);
    }

    [Fact]
    public void Dispose_removes_every_hook_so_outputs_and_gradients_match_an_unwatched_model_and_nothing_is_captured()
    {
        using var scope = NewDisposeScope();
        manual_seed(14);
        using var model = new SequenceRegressor(nn.LSTM(2, 8, batchFirst: true), 8, batchFirst: true);
        var x = rand(4, 10, 2);

        Tensor? unwatchedOutput = null;
        var unwatched = GradientsAfterOneStep(model, () => (unwatchedOutput = model.call(x)).sum());

        var watch = GradientWatch.Attach(model);
        model.zero_grad();
        model.call(x).sum().backward();
        Assert.Single(watch.Record(1).Timesteps);
        watch.Dispose();

        Tensor? afterOutput = null;
        var after = GradientsAfterOneStep(model, () => (afterOutput = model.call(x)).sum());
        Assert.True(Reference.Identical(unwatchedOutput!, afterOutput!));
        AssertSameGradients(unwatched, after);

        // The hook tables themselves are empty again (TorchSharp keeps them in protected fields).
        var lstm = nn.LSTM(2, 8, batchFirst: true);
        var probeWatch = GradientWatch.Attach(lstm);
        Assert.Equal(2, HookCount(lstm));
        probeWatch.Dispose();
        Assert.Equal(0, HookCount(lstm));
        lstm.call(x).Item1.sum().backward();
        Assert.Throws<ObjectDisposedException>(() => probeWatch.Record(1));
        Assert.Throws<ObjectDisposedException>(() => probeWatch.TrackState(ones(1).requires_grad_(true), 0));
        probeWatch.Dispose(); // idempotent
    }

    [Fact]
    public void Forward_passes_under_no_grad_capture_nothing()
    {
        using var scope = NewDisposeScope();
        using var model = new SequenceRegressor(nn.LSTM(2, 4, batchFirst: true), 4, batchFirst: true);
        using var watch = GradientWatch.Attach(model);
        using (no_grad())
        {
            model.call(rand(2, 5, 2));
        }

        model.call(rand(2, 5, 2)).sum().backward();
        var report = watch.Record(1);
        Assert.Equal(new[] { "recurrent" }, report.Timesteps.Select(p => p.Module));
    }

    [Fact]
    public void A_frozen_model_over_raw_data_still_builds_no_graph()
    {
        using var scope = NewDisposeScope();
        using var model = new SequenceRegressor(nn.LSTM(2, 4, batchFirst: true), 4, batchFirst: true);
        foreach (var parameter in model.parameters())
        {
            parameter.requires_grad = false;
        }

        using var watch = GradientWatch.Attach(model);
        var output = model.call(rand(2, 5, 2));

        Assert.False(output.requires_grad);
        Assert.Empty(watch.Record(1).Timesteps);
    }

    [Fact]
    public void Timestep_profiles_are_captured_every_Nth_step_while_parameter_norms_are_measured_every_step()
    {
        using var scope = NewDisposeScope();
        using var model = new SequenceRegressor(nn.LSTM(2, 4, batchFirst: true), 4, batchFirst: true);
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { TimestepProfileInterval = 3 });

        var profiled = new List<bool>();
        for (var step = 0; step < 7; step++)
        {
            model.zero_grad();
            model.call(rand(2, 5, 2)).sum().backward();
            var report = watch.Record(step);
            profiled.Add(report.Timesteps.Count == 1);
            Assert.NotEmpty(report.ParameterNorms);
        }

        Assert.Equal(new[] { true, false, false, true, false, false, true }, profiled);
    }

    private static int HookCount(nn.Module module)
    {
        var count = 0;
        foreach (var field in new[] { "pre_hooks", "post_hooks" })
        {
            var table = module.GetType().BaseType!.BaseType!
                .GetField(field, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!
                .GetValue(module);
            count += ((System.Collections.ICollection)table!).Count;
        }

        return count;
    }

    private static Dictionary<string, Tensor> GradientsAfterOneStep(nn.Module model, Func<Tensor> loss)
    {
        model.zero_grad();
        loss().backward();
        return Reference.GradientsOf(model);
    }

    private static void AssertSameGradients(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, grad) in expected)
        {
            Assert.True(Reference.Identical(grad, actual[name]), $"gradient of {name} changed");
        }
    }
}
