using System.Text.Json.Nodes;
using GradientDiagnostics.Calibration;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests.Calibration;

/// <summary>
/// Watched training runs writing the calibration file: the quantiles in the file against the norms the watch reported,
/// two models in one process, non-finite steps, a diverged run, and a file that must not be overwritten.
/// </summary>
public sealed class WatchCalibrationTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("gd-watch-calibration-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Two_watched_models_in_one_process_write_one_file_whose_quantiles_match_their_recorded_norms()
    {
        using var outer = NewDisposeScope();
        var path = Path.Combine(folder, "gradient-calibration.json");
        manual_seed(51);
        using var regressor = AddingProblem.HealthyLstm(hidden: 16);
        using var classifier = new EmbeddingClassifier(vocabulary: 20, embeddingSize: 8, hidden: 8, layers: 1, bidirectional: false);
        using var regressorOptimizer = optim.Adam(regressor.parameters(), 1e-2);
        using var classifierOptimizer = optim.Adam(classifier.parameters(), 1e-2);
        var regressorReports = new List<GradientStepReport>();
        var classifierReports = new List<GradientStepReport>();
        using (var regressorWatch = GradientWatch.Attach(regressor, new GradientWatchOptions { CalibrationPath = path }))
        using (var classifierWatch = GradientWatch.Attach(classifier, new GradientWatchOptions { CalibrationPath = path }))
        {
            using var generator = new Generator(51);
            for (var step = 1; step <= 80; step++)
            {
                using var scope = NewDisposeScope();
                var (inputs, targets) = AddingProblem.Batch(16, 12, generator);
                regressorOptimizer.zero_grad();
                nn.functional.mse_loss(regressor.call(inputs), targets).backward();
                regressorReports.Add(regressorWatch.Record(step));
                nn.utils.clip_grad_norm_(regressor.parameters(), 1.0);
                regressorOptimizer.step();

                var tokens = randint(0, 20, new long[] { 10, 8 }, generator: generator);
                classifierOptimizer.zero_grad();
                nn.functional.cross_entropy(classifier.call(tokens), tokens[-1] % 3).backward();
                classifierReports.Add(classifierWatch.Record(step));
                classifierOptimizer.step();
            }
        }

        var models = ReadModels(path);
        // The classifier's watch is disposed first (using blocks end in reverse), so its entry comes first.
        Assert.Equal(new[] { nameof(EmbeddingClassifier), nameof(SequenceRegressor) }, models.Select(m => (string?)m!["model"]));
        AssertMatches(classifierReports, models[0]!);
        AssertMatches(regressorReports, models[1]!);
        AssertHorizon(classifierReports, models[0]!, sequenceLength: 10);
        AssertHorizon(regressorReports, models[1]!, sequenceLength: 12);
    }

    [Fact]
    public void Non_finite_steps_are_counted_and_left_out_of_the_quantiles()
    {
        var path = Path.Combine(folder, "gradient-calibration.json");
        var logged = new List<string>();
        var reports = new List<GradientStepReport>();
        manual_seed(53);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        using (var watch = GradientWatch.Attach(model, new GradientWatchOptions { ModelName = "sometimes-nan", LoggerFactory = new ListLoggerFactory(logged) }))
        {
            reports.AddRange(TrainHealthyLstm(model, watch, steps: 40, nanSteps: new[] { 9, 27 }));
            watch.WriteCalibration(path);
        }

        Assert.Equal(2, reports.Count(r => double.IsNaN(r.GlobalNorm)));
        var entry = Assert.Single(ReadModels(path))!;
        AssertMatches(reports, entry);
        Assert.Contains(logged, line => line.Contains("'sometimes-nan'", StringComparison.Ordinal) && line.Contains("38 steps", StringComparison.Ordinal) && line.Contains("2 steps with a non-finite global norm left out", StringComparison.Ordinal));
    }

    [Fact]
    public void A_diverged_run_writes_no_entry_and_says_why_keeping_the_entry_of_an_earlier_run()
    {
        var path = Path.Combine(folder, "gradient-calibration.json");
        CalibrationFile.Write(path, CalibrationFileTests.Entry("chaotic-rnn", p90: 0.8));
        var before = File.ReadAllText(path);
        var logged = new List<string>();
        using var outer = NewDisposeScope();
        manual_seed(52);
        using var model = AddingProblem.ChaoticRnn(hidden: 32);
        using var optimizer = optim.SGD(model.parameters(), 0.2);
        using var generator = new Generator(52);
        var watch = GradientWatch.Attach(model, new GradientWatchOptions { ModelName = "chaotic-rnn", CalibrationPath = path, LoggerFactory = new ListLoggerFactory(logged) });
        var nonFinite = 0;
        for (var step = 1; step <= 60; step++)
        {
            using var scope = NewDisposeScope();
            var (inputs, targets) = AddingProblem.Batch(32, 30, generator);
            optimizer.zero_grad();
            nn.functional.mse_loss(model.call(inputs), targets).backward();
            nonFinite += double.IsFinite(watch.Record(step).GlobalNorm) ? 0 : 1;
            optimizer.step();
        }

        var error = Assert.Throws<InvalidOperationException>(() => watch.WriteCalibration(path));
        watch.Dispose();

        Assert.True(nonFinite > 6, $"only {nonFinite} of 60 steps overflowed; the scenario is meant to diverge");
        Assert.Contains("'chaotic-rnn' exploded", error.Message, StringComparison.Ordinal);
        Assert.Matches($@"\d+ of its 60 recorded steps had exploding or non-finite gradients \({nonFinite} non-finite\)", error.Message);
        Assert.Equal(before, File.ReadAllText(path));
        Assert.Contains(logged, line => line.Contains($"Could not write the calibration of model 'chaotic-rnn' to {path}", StringComparison.Ordinal));
    }

    [Fact]
    public void Dispose_never_overwrites_a_malformed_file_and_never_throws_into_training()
    {
        var path = Path.Combine(folder, "gradient-calibration.json");
        const string handWritten = "{ \"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [ { \"model\": \"A\" } ";
        File.WriteAllText(path, handWritten);
        var logged = new List<string>();
        manual_seed(53);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        var watch = GradientWatch.Attach(model, new GradientWatchOptions { CalibrationPath = path, LoggerFactory = new ListLoggerFactory(logged) });
        TrainHealthyLstm(model, watch, steps: 5);

        var error = Assert.Throws<InvalidDataException>(() => watch.WriteCalibration(path));
        watch.Dispose();

        Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
        Assert.Equal(handWritten, File.ReadAllText(path));
        Assert.Single(logged, line => line.Contains("Could not write the calibration of model 'SequenceRegressor'", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(folder));
    }

    [Fact]
    public void A_watch_that_recorded_nothing_writes_nothing()
    {
        var path = Path.Combine(folder, "gradient-calibration.json");
        var logged = new List<string>();
        manual_seed(53);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        var watch = GradientWatch.Attach(model, new GradientWatchOptions { CalibrationPath = path, LoggerFactory = new ListLoggerFactory(logged) });

        var error = Assert.Throws<InvalidOperationException>(() => watch.WriteCalibration(path));
        watch.Dispose();

        Assert.Contains("Nothing to calibrate for model 'SequenceRegressor'", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
        Assert.Single(logged);
    }

    [Fact]
    public void A_bad_path_is_named_before_the_recording_is_judged()
    {
        manual_seed(53);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        using var watch = GradientWatch.Attach(model);

        var folderError = Assert.Throws<ArgumentException>(() => watch.WriteCalibration(folder));
        var emptyError = Assert.Throws<ArgumentException>(() => watch.WriteCalibration(" "));

        Assert.Equal("path", folderError.ParamName);
        Assert.Contains("is a folder", folderError.Message, StringComparison.Ordinal);
        Assert.Equal("path", emptyError.ParamName);
    }

    [Fact]
    public void WriteCalibration_works_after_Dispose_and_replaces_the_models_entry()
    {
        var path = Path.Combine(folder, "gradient-calibration.json");
        CalibrationFile.Write(path, CalibrationFileTests.Entry("SequenceRegressor", p90: 1234));
        CalibrationFile.Write(path, CalibrationFileTests.Entry("Other", p90: 5));
        manual_seed(53);
        using var model = AddingProblem.HealthyLstm(hidden: 8);
        var watch = GradientWatch.Attach(model);
        var reports = TrainHealthyLstm(model, watch, steps: 20);
        watch.Dispose();

        watch.WriteCalibration(path);

        var models = ReadModels(path);
        Assert.Equal(new[] { "SequenceRegressor", "Other" }, models.Select(m => (string?)m!["model"]));
        AssertMatches(reports, models[0]!);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("runs/\0/calibration.json")]
    public void A_calibration_path_that_is_not_a_path_is_refused_by_option_name(string path)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new GradientWatchOptions { CalibrationPath = path });

        Assert.Equal(nameof(GradientWatchOptions.CalibrationPath), error.ParamName);
    }

    /// <summary>
    /// The file's quantiles within the sketch's relative error of the exact order statistics of the finite norms; max
    /// and steps exact; the recommendation the 0.9 quantile over all steps, those with exploding or non-finite gradients
    /// counting as the largest, to three digits.
    /// </summary>
    private static void AssertMatches(IReadOnlyList<GradientStepReport> reports, JsonNode entry)
    {
        var sorted = reports.Select(r => r.GlobalNorm).Where(double.IsFinite).Order().ToArray();
        Assert.Equal(sorted.Length, (long)entry["steps"]!);
        foreach (var (key, q) in new[] { ("p10", 0.1), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99) })
        {
            var exact = sorted[(int)Math.Floor(q * (sorted.Length - 1))];
            var written = (double)entry["globalNorm"]![key]!;
            Assert.True(Math.Abs(written - exact) <= NormQuantileSketch.RelativeAccuracy * exact * (1 + 1e-12), $"{key}: exact {exact:G17}, file {written:G17}");
        }

        Assert.Equal(sorted[^1], (double)entry["globalNorm"]!["max"]!);
        var healthy = reports
            .Where(r => double.IsFinite(r.GlobalNorm) && !r.Anomalies.Any(a => a.Kind is GradientAnomalyKind.Exploding or GradientAnomalyKind.NonFinite))
            .Select(r => r.GlobalNorm).Order().ToArray();
        var recommended = healthy[(int)Math.Floor(0.9 * (reports.Count - 1))];
        Assert.Equal(recommended, (double)entry["recommendedClipNorm"]!, (NormQuantileSketch.RelativeAccuracy + 0.005) * recommended);
    }

    /// <summary>The median of every profile's memory horizon (rank ⌊(n − 1) / 2⌋), exactly, and the profiles' length.</summary>
    private static void AssertHorizon(List<GradientStepReport> reports, JsonNode entry, int sequenceLength)
    {
        var horizons = reports.SelectMany(r => r.Timesteps).Select(p => p.MemoryHorizon).Order().ToArray();
        Assert.Equal(reports.Count, horizons.Length);
        Assert.Equal(horizons[(horizons.Length - 1) / 2], (int)entry["memoryHorizon"]!["p50"]!);
        Assert.Equal(sequenceLength, (int)entry["memoryHorizon"]!["sequenceLength"]!);
    }

    private static JsonArray ReadModels(string path) => JsonNode.Parse(File.ReadAllText(path))!["models"]!.AsArray();

    /// <summary>Trains the watched model on the adding problem with clipping at 1.0; a step in <paramref name="nanSteps"/> gets a NaN loss and no update.</summary>
    private static List<GradientStepReport> TrainHealthyLstm(SequenceRegressor model, GradientWatch watch, int steps, int[]? nanSteps = null)
    {
        using var outer = NewDisposeScope();
        using var optimizer = optim.Adam(model.parameters(), 1e-2);
        using var generator = new Generator(53);
        var reports = new List<GradientStepReport>();
        for (var step = 1; step <= steps; step++)
        {
            using var scope = NewDisposeScope();
            var (inputs, targets) = AddingProblem.Batch(16, 12, generator);
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(inputs), targets);
            (nanSteps?.Contains(step) == true ? loss * double.NaN : loss).backward();
            var report = watch.Record(step);
            reports.Add(report);
            if (double.IsFinite(report.GlobalNorm))
            {
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
            }
        }

        return reports;
    }
}
