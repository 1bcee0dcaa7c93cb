using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace GradientDiagnostics.EndToEnd.Tests;

/// <summary>The main job as a user runs it: train the three models briefly, print the summary, write the report.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DemoCommandLineTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly string folder = Directory.CreateTempSubdirectory("gd-demo-").FullName;

    public void Dispose()
    {
        foreach (var sub in Directory.GetDirectories(folder))
        {
            File.SetUnixFileMode(sub, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Trains_the_three_models_and_writes_the_report_it_names()
    {
        var report = Path.Combine(folder, "out", "report.html");

        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--report", report }), Timeout);

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"step +6/6 +RiskyModel: loss \d+\.\d{4} +global norm [\d.eE+-]+ +anomalies \d+ +\| +RiskyExplodingModel: loss [\d.]+ +global norm [\w.+-]+ +anomalies \d+ +\| +RecommendedModel: loss", output);
        var table = Regex.Replace(output, @"[│\s]+", " ");
        Assert.Matches("GD0001, *GD0003, *GD0005", table);
        Assert.Matches("GD0001, *GD0005", table);

        // The summary's memory-horizon column: "k of 8" for every model, 8 being the sequence length.
        Assert.Equal(3, Regex.Matches(table, @" \d of 8 ").Count);
        var printed = Regex.Match(output, "^Report: (.+)$", RegexOptions.Multiline).Groups[1].Value.Trim();
        Assert.Equal(Path.GetFullPath(report), printed);

        var html = File.ReadAllText(printed);
        Assert.Contains("<section class=\"run\" id=\"run-0\">\n<h2>RiskyModel</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<section class=\"run\" id=\"run-1\">\n<h2>RiskyExplodingModel</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<section class=\"run\" id=\"run-2\">\n<h2>RecommendedModel</h2>", html, StringComparison.Ordinal);
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
        Assert.DoesNotContain("RiskyModel", output, StringComparison.Ordinal);
        Assert.DoesNotContain("RiskyExplodingModel", output, StringComparison.Ordinal);
        Assert.Contains("<h2>RecommendedModel</h2>", File.ReadAllText(report), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--steps", "0", "--steps must be a whole number of at least 1, got '0'.")]
    [InlineData("--seq-len", "1", "--seq-len must be a whole number of at least 2, got '1'.")]
    [InlineData("--steps", "99999999999", "--steps must be a whole number from 1 to 2147483647, got '99999999999'.")]
    [InlineData("--hidden", "100000000", "--batch 128, --seq-len 50 and --hidden 100000000 need about 1,600,051,200 GB of memory for a training step, more than the ")]
    [InlineData("--batch", "100000000", "--batch 100000000, --seq-len 50 and --hidden 32 need about 12,800 GB of memory for a training step, more than the ")]
    [InlineData("--lr", "fast", "--lr must be a number greater than 0 and less than 10, got 'fast'.")]
    [InlineData("--clip", "-1", "--clip must be a number greater than 0 and less than 1000000, got '-1'.")]
    [InlineData("--prometheus", "70000", "--prometheus takes a TCP port from 1 to 65535, got '70000'.")]
    [InlineData("--otlp", "localhost:4317", "--otlp must be an absolute http:// or https:// URL with a host and no query, e.g. http://localhost:4317, got 'localhost:4317'.")]
    [InlineData("--otlp", "http://collector:4317/?token=x", "--otlp must be an absolute http:// or https:// URL with a host and no query, e.g. http://localhost:4317, got 'http://collector:4317/?token=x'.")]
    [InlineData("--otlp-protocol", "thrift", "--otlp-protocol must be one of grpc|http, got 'thrift'.")]
    [InlineData("--run-id", "a b", "--run-id must be 1 to 64 letters, digits, '.', '_' or '-', got 'a b'.")]
    [InlineData("--model", "transformer", "--model must be one of all|risky|exploding|recommended, got 'transformer'.")]
    [InlineData("--report", " ", "--report must be a file path, got ' '.")]
    [InlineData("--calibration", "", "--calibration must be a file path, got ''.")]
    [InlineData("--calibration", " ", "--calibration must be a file path, got ' '.")]
    public async Task Bad_values_stop_with_one_line_naming_the_option_and_exit_code_2(string option, string value, string message)
    {
        var report = option == "--report" ? Array.Empty<string>() : new[] { "--report", Path.Combine(folder, "never.html") };
        var (exitCode, output) = await Demo.RunAsync(new[] { option, value }.Concat(report), Timeout);

        AssertUsageError(exitCode, output, message);
        Assert.False(File.Exists(Path.Combine(folder, "never.html")));
    }

    [Fact]
    public async Task The_model_error_lists_the_accepted_models_and_never_a_type_name()
    {
        var (exitCode, output) = await Demo.RunAsync(new[] { "--model", "Transformer" }, Timeout);

        AssertUsageError(exitCode, output, "all|risky|exploding|recommended");
        Assert.DoesNotContain("ModelChoice", output, StringComparison.Ordinal);
        Assert.DoesNotContain("AddingProblem.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_path_that_is_a_folder_stops_before_training()
    {
        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--report", folder }), Timeout);

        AssertUsageError(exitCode, output, $"--report: '{folder}' is a folder");
    }

    [Fact]
    public async Task A_report_path_inside_a_file_stops_before_training()
    {
        var blocker = Path.Combine(folder, "not-a-folder");
        File.WriteAllText(blocker, "a file where the report's folder should be");
        var report = Path.Combine(blocker, "report.html");

        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--report", report }), Timeout);

        AssertUsageError(exitCode, output, $"--report: cannot write '{report}': '{blocker}' is a file, not a folder.");
    }

    [Fact]
    public async Task A_report_path_that_is_not_writable_stops_before_training()
    {
        // root may write anywhere a permission bit forbids, so use a folder no process may create files in:
        // sysfs refuses new files even to root.
        var report = Environment.UserName == "root" ? "/sys/gd-report.html" : Path.Combine(ReadOnlyFolder(), "report.html");

        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--report", report }), Timeout);

        AssertUsageError(exitCode, output, $"--report: cannot write '{report}'");
        Assert.False(File.Exists(report));
    }

    [Fact]
    public async Task A_prometheus_port_in_use_stops_before_training()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;

        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--prometheus", port.ToString(CultureInfo.InvariantCulture), "--report", Path.Combine(folder, "r.html") }), Timeout);

        AssertUsageError(exitCode, output, $"--prometheus: port {port} on 127.0.0.1 is already in use");
    }

    [Theory]
    [InlineData("192.0.2.1", "--prometheus-host: cannot listen on '192.0.2.1'")]   // TEST-NET-1: never an address of this machine
    [InlineData("no-such-host.invalid", "--prometheus-host: cannot resolve 'no-such-host.invalid'")]
    public async Task A_prometheus_host_that_cannot_be_bound_stops_before_training(string host, string message)
    {
        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--prometheus", "--prometheus-host", host, "--report", Path.Combine(folder, "r.html") }), Timeout);

        AssertUsageError(exitCode, output, message);
    }

    [Fact]
    public async Task The_calibration_option_writes_an_entry_for_each_model_named_by_its_type_keeping_other_entries()
    {
        var calibration = Path.Combine(folder, "project", "gradient-calibration.json");
        Directory.CreateDirectory(Path.GetDirectoryName(calibration)!);
        File.WriteAllText(calibration, """
            { "schema": "gradient-diagnostics/calibration/v1",
              "models": [ { "model": "Encoder", "steps": 9, "globalNorm": { "p10": 1, "p50": 2, "p90": 3, "p99": 4, "max": 5 }, "recommendedClipNorm": 3 } ] }
            """);

        var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--report", Path.Combine(folder, "r.html"), "--calibration", calibration }), Timeout);

        Assert.True(exitCode == 0, output);
        Assert.Matches($@"Calibration: {Regex.Escape(calibration)} — recommended clip norm RiskyModel [\d.eE+-]+ \(6 steps\), RiskyExplodingModel [\d.eE+-]+ \(6 steps\), RecommendedModel [\d.eE+-]+ \(6 steps\)", output);
        var models = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(calibration))!["models"]!.AsArray();
        Assert.Equal(new[] { "Encoder", "RiskyModel", "RiskyExplodingModel", "RecommendedModel" }, models.Select(m => (string?)m!["model"]));
        Assert.All(models.Skip(1), m =>
        {
            Assert.Equal(6, (int)m!["steps"]!);
            Assert.True((double)m["recommendedClipNorm"]! > 0);
            Assert.True((double)m["globalNorm"]!["p10"]! <= (double)m["globalNorm"]!["max"]!);
            Assert.Equal(8, (int)m["memoryHorizon"]!["sequenceLength"]!);
        });
    }

    [Fact]
    public async Task A_calibration_path_that_cannot_take_the_file_stops_before_training()
    {
        var blocker = Path.Combine(folder, "not-a-folder");
        File.WriteAllText(blocker, "a file where the calibration file's folder should be");
        var insideAFile = Path.Combine(blocker, "gradient-calibration.json");
        // As for the report: sysfs refuses new files even to root.
        var unwritable = Environment.UserName == "root" ? "/sys/gradient-calibration.json" : Path.Combine(ReadOnlyFolder(), "gradient-calibration.json");
        // The file would be left unchanged after the whole run: say so before it.
        var notCalibration = Path.Combine(folder, "settings.json");
        File.WriteAllText(notCalibration, """{ "schema": "my-app/settings", "models": [] }""");
        var report = Path.Combine(folder, "never.html");

        foreach (var (path, message) in new[]
        {
            (folder, $"--calibration: '{folder}' is a folder; give the path of the calibration file to write"),
            (insideAFile, $"--calibration: cannot write '{insideAFile}': '{blocker}' is a file, not a folder."),
            (unwritable, $"--calibration: cannot write '{unwritable}'"),
            (notCalibration, $"--calibration: '{notCalibration}' is not a gradient-diagnostics/calibration/v1 file (its schema is 'my-app/settings')"),
        })
        {
            var (exitCode, output) = await Demo.RunAsync(Demo.QuickTraining.Concat(new[] { "--report", report, "--calibration", path }), Timeout);

            AssertUsageError(exitCode, output, message);
            Assert.False(File.Exists(report));
        }
    }

    [Fact]
    public async Task Dashboard_and_an_explicit_otlp_endpoint_exclude_each_other()
    {
        var (exitCode, output) = await Demo.RunAsync(new[] { "--dashboard", "--otlp", "http://127.0.0.1:4317" }, Timeout);

        AssertUsageError(exitCode, output, "use either --dashboard or --otlp");
    }

    [Fact]
    public async Task Help_lists_the_choices_and_shows_the_prometheus_port_as_optional()
    {
        var (exitCode, output) = await Demo.RunAsync(new[] { "--help" }, Timeout);

        Assert.Equal(0, exitCode);
        Assert.Matches(@"(?m)^\s+--prometheus \[<port>\]\s+Serve", output);
        Assert.Matches(@"(?m)^\s+--model <all\|risky\|exploding\|recommended>\s", output);
        Assert.Matches(@"(?m)^\s+--otlp-protocol <grpc\|http>\s", output);
        Assert.DoesNotContain("ModelChoice", output, StringComparison.Ordinal);
    }

    /// <summary>Exit code 2, a single line naming the option and the cause and pointing to --help: no help dump, no stack trace, no training.</summary>
    private static void AssertUsageError(int exitCode, string output, string message)
    {
        Assert.True(exitCode == 2, $"exit code {exitCode}:\n{output}");
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.EndsWith("Run with --help for the options.", line, StringComparison.Ordinal);
    }

    private string ReadOnlyFolder()
    {
        var readOnly = Directory.CreateDirectory(Path.Combine(folder, "read-only")).FullName;
        File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        return readOnly;
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
