using System.Text.RegularExpressions;

namespace GradientDiagnostics.EndToEnd.Tests;

/// <summary>The main job as a user runs it: train both models briefly, print the summary, write the report.</summary>
public sealed class DemoCommandLineTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly string folder = Directory.CreateTempSubdirectory("gd-demo-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public async Task Trains_the_three_models_and_writes_the_report_it_names()
    {
        var report = Path.Combine(folder, "out", "report.html");

        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--report", report }), Timeout);

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"step +6/6 +risky-rnn: loss \d+\.\d{4} +global norm [\d.eE+-]+ +anomalies \d+ +\| +exploding-rnn: loss [\d.]+ +global norm [\w.+-]+ +anomalies \d+ +\| +recommended-lstm: loss", output);
        var table = Regex.Replace(output, @"[│\s]+", " ");
        Assert.Matches("GD0001, *GD0003, *GD0005", table);
        Assert.Matches("GD0001, *GD0005", table);

        // The summary's memory-horizon column: "k of 8" for every model, 8 being the sequence length.
        Assert.Equal(3, Regex.Matches(table, @" \d of 8 ").Count);
        var printed = Regex.Match(output, "^Report: (.+)$", RegexOptions.Multiline).Groups[1].Value.Trim();
        Assert.Equal(Path.GetFullPath(report), printed);

        var html = File.ReadAllText(printed);
        Assert.Contains("<section class=\"run\" id=\"run-0\">\n<h2>risky-rnn</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<section class=\"run\" id=\"run-1\">\n<h2>exploding-rnn</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<section class=\"run\" id=\"run-2\">\n<h2>recommended-lstm</h2>", html, StringComparison.Ordinal);
        // The per-timestep profiles came from the real watch: one heatmap per model, 8 timesteps wide, and a horizon headline.
        Assert.Equal(3, Regex.Matches(html, "\"heatmaps\":\\[\\{\"module\":\"(rnn|lstm)\",\"timesteps\":8,").Count);
        Assert.Equal(3, Regex.Matches(html, "<p class=\"headline\" id=\"run-\\d-headline\">Gradient reaches <strong>\\d of 8</strong> timesteps back").Count);
    }

    [Fact]
    public async Task One_model_can_be_trained_alone()
    {
        var report = Path.Combine(folder, "lstm.html");

        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--model", "recommended", "--report", report }), Timeout);

        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("risky-rnn", output, StringComparison.Ordinal);
        Assert.DoesNotContain("exploding-rnn", output, StringComparison.Ordinal);
        Assert.Contains("<h2>recommended-lstm</h2>", File.ReadAllText(report), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--steps", "0", "--steps must be a whole number of at least 1, got '0'.")]
    [InlineData("--seq-len", "1", "--seq-len must be a whole number of at least 2, got '1'.")]
    [InlineData("--lr", "fast", "--lr must be a number greater than 0 and less than 10, got 'fast'.")]
    [InlineData("--clip", "-1", "--clip must be a number greater than 0 and less than 1000000, got '-1'.")]
    [InlineData("--prometheus", "70000", "--prometheus takes a TCP port from 1 to 65535, got '70000'.")]
    [InlineData("--otlp", "localhost:4317", "--otlp must be an absolute http:// or https:// URL, got 'localhost:4317'.")]
    [InlineData("--run-id", "a b", "--run-id must be 1 to 64 letters, digits, '.', '_' or '-', got 'a b'.")]
    [InlineData("--model", "transformer", "transformer")]
    public async Task Bad_values_stop_with_an_error_naming_the_option(string option, string value, string message)
    {
        var (exitCode, output) = await Demo.RunAsync(new[] { option, value, "--report", Path.Combine(folder, "never.html") }, Timeout);

        Assert.Equal(1, exitCode);
        Assert.Contains(message, output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "never.html")));
    }

    [Fact]
    public async Task A_report_path_that_cannot_be_written_is_named_in_the_error()
    {
        var blocker = Path.Combine(folder, "not-a-folder");
        File.WriteAllText(blocker, "a file where the report's folder should be");
        var report = Path.Combine(blocker, "report.html");

        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--model", "recommended", "--report", report }), Timeout);

        Assert.Equal(1, exitCode);
        Assert.Contains($"--report: cannot write '{report}'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_and_an_explicit_otlp_endpoint_exclude_each_other()
    {
        var (exitCode, output) = await Demo.RunAsync(new[] { "--dashboard", "--otlp", "http://127.0.0.1:4317" }, Timeout);

        Assert.Equal(1, exitCode);
        Assert.Contains("use either --dashboard or --otlp", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_c_stops_training_and_still_reports_the_steps_done()
    {
        var report = Path.Combine(folder, "interrupted.html");
        using var demo = Demo.Start(new[] { "--steps", "100000", "--seq-len", "8", "--batch", "8", "--hidden", "8", "--report", report });

        await demo.WaitForLineAsync(@"^step +1/100000", TimeSpan.FromMinutes(2));
        demo.Interrupt();
        await demo.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(130, demo.ExitCode);
        Assert.Matches(@"Stopped after \d+ of 100000 steps", demo.Output);
        Assert.True(File.Exists(report), demo.Output);
    }
}
