using TorchSharp;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests;

public class AttachAndOptionsTests
{
    [Fact]
    public void A_model_with_nothing_recurrent_is_rejected_with_a_message_naming_its_type_and_the_way_out()
    {
        using var model = new FeedForward();
        var error = Assert.Throws<ArgumentException>(() => GradientWatch.Attach(model));
        Assert.Equal("model", error.ParamName);
        Assert.Contains(typeof(FeedForward).FullName!, error.Message, StringComparison.Ordinal);
        Assert.Contains("TrackState", error.Message, StringComparison.Ordinal);
        Assert.Contains("RequireRecurrentModule", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hand_written_recurrence_can_opt_out_of_the_recurrent_module_check_and_track_its_states()
    {
        using var scope = NewDisposeScope();
        using var model = new FeedForward();
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { RequireRecurrentModule = false });
        var h = zeros(2, 4);
        for (var t = 0; t < 3; t++)
        {
            h = tanh(model.call(h).expand(2, 4) + 0.1);
            watch.TrackState(h, t);
        }

        h.sum().backward();
        var profile = Assert.Single(watch.Record(1).Timesteps);
        Assert.Equal("state", profile.Module);
        Assert.Equal(3, profile.Norms.Length);
    }

    [Fact]
    public void A_model_with_only_recurrent_cells_is_accepted_and_a_bare_LSTM_is_watched_under_its_type_name()
    {
        using var cells = new UnrolledCell(2, 3);
        using (var watch = GradientWatch.Attach(cells))
        {
            Assert.Empty(watch.WatchedModules);
            Assert.Equal(nameof(UnrolledCell), watch.ModelName);
        }

        using var scope = NewDisposeScope();
        using var lstm = nn.LSTM(2, 3);
        using var bare = GradientWatch.Attach(lstm, new GradientWatchOptions { ModelName = "encoder-v2" });
        Assert.Equal(new[] { "LSTM" }, bare.WatchedModules);
        Assert.Equal("encoder-v2", bare.ModelName);
        lstm.call(rand(4, 2, 2)).Item1.sum().backward();
        Assert.Equal(4, Assert.Single(bare.Record(1).Timesteps).Norms.Length);
    }

    [Fact]
    public void Null_model_is_rejected()
    {
        Assert.Throws<ArgumentNullException>("model", () => GradientWatch.Attach(null!));
    }

    /// <summary>A disposed model still lists its modules but no parameters: attached, it would report nothing, silently.</summary>
    [Fact]
    public void A_disposed_model_is_rejected_naming_the_model_and_the_disposed_module()
    {
        var model = new SequenceRegressor(nn.GRU(3, 4, batchFirst: true), 4, batchFirst: true);
        model.Dispose();

        var error = Assert.Throws<ArgumentException>("model", () => GradientWatch.Attach(model));
        Assert.Contains("disposed", error.Message, StringComparison.Ordinal);
        Assert.Contains("'recurrent'", error.Message, StringComparison.Ordinal);

        var lstm = nn.LSTM(2, 3);
        lstm.Dispose();
        Assert.Throws<ArgumentException>("model", () => GradientWatch.Attach(lstm));
    }

    [Fact]
    public void TrackState_rejects_a_disposed_tensor_a_negative_timestep_and_an_empty_name_naming_the_argument()
    {
        using var model = new UnrolledCell(2, 3);
        using var watch = GradientWatch.Attach(model);
        var disposed = ones(2).requires_grad_(true);
        disposed.Dispose();

        var error = Assert.Throws<ArgumentException>("state", () => watch.TrackState(disposed, 0));
        Assert.Contains("disposed", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>("state", () => watch.TrackState(null!, 0));
        using var live = ones(2).requires_grad_(true);
        Assert.Throws<ArgumentOutOfRangeException>("timestep", () => watch.TrackState(live, -1));
        Assert.Throws<ArgumentException>("name", () => watch.TrackState(live, 0, " "));
    }

    [Fact]
    public void A_tracked_state_disposed_before_Record_is_skipped_without_throwing_and_logged()
    {
        using var model = new UnrolledCell(2, 3);
        var logged = new List<string>();
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { LoggerFactory = new ListLoggerFactory(logged) });
        var state = ones(2).requires_grad_(true);
        var h = state * 2;
        watch.TrackState(h, 0);
        h.sum().backward();
        h.Dispose();

        var report = watch.Record(1);
        Assert.Empty(report.Timesteps);
        Assert.Single(logged, line => line.Contains("disposed before Record", StringComparison.Ordinal));
    }

    [Fact]
    public void Forward_passes_without_Record_stop_being_captured_at_the_limit_and_say_so_once()
    {
        using var scope = NewDisposeScope();
        using var lstm = nn.LSTM(2, 3);
        var logged = new List<string>();
        using var watch = GradientWatch.Attach(lstm, new GradientWatchOptions { LoggerFactory = new ListLoggerFactory(logged) });
        Tensor? sum = null;
        for (var i = 0; i < GradientDiagnostics.Capture.StepCaptures.MaxCapturesPerStep + 20; i++)
        {
            using var step = NewDisposeScope();
            var output = lstm.call(rand(3, 1, 2)).Item1.sum();
            sum = sum is null ? output.MoveToOuterDisposeScope() : (sum + output).MoveToOuterDisposeScope();
        }

        sum!.backward();
        var report = watch.Record(1);

        Assert.Equal(GradientDiagnostics.Capture.StepCaptures.MaxCapturesPerStep, report.Timesteps.Count);
        Assert.Equal($"LSTM#{GradientDiagnostics.Capture.StepCaptures.MaxCapturesPerStep}", report.Timesteps[^1].Module);
        Assert.Single(logged, line => line.Contains("without Record", StringComparison.Ordinal));
    }

    public static TheoryData<string, Func<GradientWatchOptions>> BadOptions => new()
    {
        { nameof(GradientWatchOptions.VanishingRatio), () => new GradientWatchOptions { VanishingRatio = 0 } },
        { nameof(GradientWatchOptions.VanishingRatio), () => new GradientWatchOptions { VanishingRatio = 1 } },
        { nameof(GradientWatchOptions.VanishingRatio), () => new GradientWatchOptions { VanishingRatio = double.NaN } },
        { nameof(GradientWatchOptions.ExplodingRatio), () => new GradientWatchOptions { ExplodingRatio = 1 } },
        { nameof(GradientWatchOptions.ExplodingRatio), () => new GradientWatchOptions { ExplodingRatio = double.PositiveInfinity } },
        { nameof(GradientWatchOptions.ExplodingFactor), () => new GradientWatchOptions { ExplodingFactor = 0.5 } },
        { nameof(GradientWatchOptions.ExplodingFactor), () => new GradientWatchOptions { ExplodingFactor = double.NaN } },
        { nameof(GradientWatchOptions.ExplodingWindow), () => new GradientWatchOptions { ExplodingWindow = 0 } },
        { nameof(GradientWatchOptions.WarmupSteps), () => new GradientWatchOptions { WarmupSteps = 0 } },
        { nameof(GradientWatchOptions.TimestepProfileInterval), () => new GradientWatchOptions { TimestepProfileInterval = 0 } },
        { nameof(GradientWatchOptions.ModelName), () => new GradientWatchOptions { ModelName = "  " } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_options_are_rejected_naming_the_option(string option, Func<GradientWatchOptions> create)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(create);
        Assert.Equal(option, error.ParamName);
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_the_documented_thresholds()
    {
        var options = new GradientWatchOptions();
        Assert.Equal(1e-3, options.VanishingRatio);
        Assert.Equal(70, options.ExplodingRatio);
        Assert.Equal(20, options.ExplodingFactor);
        Assert.Equal(100, options.ExplodingWindow);
        Assert.Equal(10, options.WarmupSteps);
        Assert.Equal(1, options.TimestepProfileInterval);
        Assert.Null(options.ModelName);
        Assert.Null(options.LoggerFactory);
        Assert.True(options.RequireRecurrentModule);
    }
}
