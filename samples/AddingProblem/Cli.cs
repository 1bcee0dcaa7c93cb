using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace AddingProblem;

/// <summary>
/// The command line. Every option has a default that needs no server; a bad value is reported with the option's
/// name and the value given (<see cref="UsageErrors"/>), and the program exits with code 2 before training starts.
/// </summary>
public static class Cli
{
    public const int DefaultPrometheusPort = 9464;

    public static RootCommand Build(Func<DemoSettings, CancellationToken, Task<int>> run)
    {
        var steps = WholeNumber("--steps", 600, "Training steps per model.");
        var seqLen = WholeNumber("--seq-len", 50, "Sequence length T of the adding problem: how far back the gradient must reach.", minimum: 2);
        var batch = WholeNumber("--batch", 128, "Sequences per batch.");
        var hidden = WholeNumber("--hidden", 32, "Hidden size of both recurrent models.");
        var seed = new Option<int>("--seed") { Description = "Random seed (data and initialisation).", DefaultValueFactory = _ => 17 };
        var learningRate = PositiveNumber("--lr", 1e-2, "Adam learning rate.", below: 10);
        var clip = PositiveNumber("--clip", 1.0, "Max gradient norm of the recommended model's clip_grad_norm_.", below: 1e6);
        var models = ChoiceOption.Create("--model", ModelChoice.All, "Which models to train.");
        var report = new Option<string>("--report")
        {
            HelpName = "path",
            Description = "Where to write the HTML report.",
            DefaultValueFactory = _ => "adding-problem-report.html",
            CustomParser = result => FilePath(result, "--report"),
        };
        var calibration = new Option<string?>(CalibrationOutput.Option)
        {
            HelpName = "path",
            Description = "After training, write each model's measured gradient-norm calibration (quantiles and a recommended clip threshold) "
                + "to this file, e.g. gradient-calibration.json in your project folder for the analyzer; other models' entries in it are kept.",
            CustomParser = result => FilePath(result, CalibrationOutput.Option),
        };
        var runId = new Option<string?>("--run-id")
        {
            HelpName = "id",
            Description = "Identifies this process in telemetry (service.instance.id), so runs on many machines stay apart. Default: a random id.",
            CustomParser = result => RunIdPattern.IsMatch(Token(result))
                ? Token(result)
                : Fail<string?>(result, $"--run-id must be 1 to 64 letters, digits, '.', '_' or '-', got '{Token(result)}'.", null),
        };
        var otlp = new Option<Uri?>("--otlp")
        {
            HelpName = "endpoint",
            Description = "Send metrics, traces and logs by OTLP to this endpoint, e.g. http://localhost:4317 (an OpenTelemetry Collector).",
            CustomParser = result => OptionChecks.OtlpEndpoint(Token(result)) is { } uri
                ? uri
                : Fail<Uri?>(result, $"--otlp must be an absolute http:// or https:// URL with a host and no query, e.g. http://localhost:4317, got '{Token(result)}'.", null),
        };
        var otlpProtocol = ChoiceOption.Create("--otlp-protocol", OtlpProtocol.Grpc, "OTLP transport for --otlp: grpc (usually port 4317) or http (http/protobuf, usually port 4318).");
        var prometheus = new Option<int?>("--prometheus")
        {
            HelpName = "port",
            Description = $"Serve a Prometheus scrape endpoint at http://<host>:<port>/metrics; the port is optional (default {DefaultPrometheusPort}).",
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = result =>
            {
                if (result.Tokens.Count == 0)
                {
                    return DefaultPrometheusPort;
                }

                return int.TryParse(Token(result), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
                    ? port
                    : Fail<int?>(result, $"--prometheus takes a TCP port from 1 to 65535, got '{Token(result)}'.", null);
            },
        };
        var prometheusHost = new Option<string>("--prometheus-host")
        {
            HelpName = "host",
            Description = "Host name or address the scrape endpoint listens on: 127.0.0.1 keeps it to this machine, '+' listens on every interface.",
            DefaultValueFactory = _ => "127.0.0.1",
            CustomParser = result => Token(result) is "+" or "*" || Uri.CheckHostName(Token(result)) != UriHostNameType.Unknown
                ? Token(result)
                : Fail<string>(result, $"--prometheus-host must be a host name, an IP address or '+', got '{Token(result)}'.", ""),
        };
        var dashboard = new Option<bool>("--dashboard")
        {
            Description = "Start the standalone Aspire dashboard on 127.0.0.1, send it the telemetry, print its login URL, and stop it on exit.",
        };
        var hold = new Option<bool>("--hold")
        {
            Description = "After training keep the dashboard and the scrape endpoint up until Enter, end of input or Ctrl+C (implied by --dashboard).",
        };

        var root = new RootCommand(
            "Trains on Hochreiter's adding problem on the CPU: two vanilla RNNs the analyzer warns about, one whose gradient "
            + "vanishes and one whose gradient explodes, against the clipped, orthogonally initialised LSTM it recommends, with "
            + "per-timestep gradient norms and memory horizons from GradientWatch, a live console view, an HTML report and "
            + "optional OpenTelemetry export.")
        {
            steps, seqLen, batch, hidden, seed, learningRate, clip, models, report, calibration, runId, otlp, otlpProtocol, prometheus, prometheusHost, dashboard, hold,
        };
        root.Validators.Add(result =>
        {
            if (result.GetValue(dashboard) && result.GetValue(otlp) is not null)
            {
                result.AddError("--dashboard sends the telemetry to the dashboard it starts; use either --dashboard or --otlp.");
            }
        });
        OptionalValueHelp.Install(root);
        root.SetAction((parse, cancellation) => run(
            new DemoSettings
            {
                Steps = parse.GetValue(steps),
                SeqLen = parse.GetValue(seqLen),
                Batch = parse.GetValue(batch),
                Hidden = parse.GetValue(hidden),
                Seed = parse.GetValue(seed),
                LearningRate = parse.GetValue(learningRate),
                ClipNorm = parse.GetValue(clip),
                Models = ChoiceOption.Value<ModelChoice>(parse.GetValue(models)!),
                ReportPath = parse.GetValue(report)!,
                CalibrationPath = parse.GetValue(calibration),
                RunId = parse.GetValue(runId) ?? Guid.NewGuid().ToString("N")[..12],
                OtlpEndpoint = parse.GetValue(otlp),
                OtlpProtocol = ChoiceOption.Value<OtlpProtocol>(parse.GetValue(otlpProtocol)!),
                PrometheusPort = parse.GetValue(prometheus),
                PrometheusHost = parse.GetValue(prometheusHost)!,
                Dashboard = parse.GetValue(dashboard),
                Hold = parse.GetValue(hold) || parse.GetValue(dashboard),
            },
            cancellation));
        return root;
    }

    private static Option<int> WholeNumber(string name, int defaultValue, string description, int minimum = 1) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => int.TryParse(Token(result), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= minimum
            ? value
            : Fail(result, TooLarge(Token(result)) ? $"{name} must be a whole number from {minimum} to {int.MaxValue}, got '{Token(result)}'." : $"{name} must be a whole number of at least {minimum}, got '{Token(result)}'.", defaultValue),
    };

    /// <summary>A whole number above what an int holds: "at least 1" would not say what is wrong with it.</summary>
    private static bool TooLarge(string token) =>
        BigInteger.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > int.MaxValue;

    private static Option<double> PositiveNumber(string name, double defaultValue, string description, double below) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => double.TryParse(Token(result), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0 && value < below
            ? value
            : Fail(result, $"{name} must be a number greater than 0 and less than {below.ToString(CultureInfo.InvariantCulture)}, got '{Token(result)}'.", defaultValue),
    };

    /// <summary>A path the report or the calibration can be written at: GradientHtmlReport.Write and WriteCalibration refuse an empty or blank one.</summary>
    private static string FilePath(ArgumentResult result, string name) =>
        Token(result) is var path && !string.IsNullOrWhiteSpace(path) && path.IndexOfAny(Path.GetInvalidPathChars()) < 0
            ? path
            : Fail(result, $"{name} must be a file path, got '{path}'.", "");

    private static string Token(ArgumentResult result) => result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;

    private static T Fail<T>(ArgumentResult result, string message, T placeholder)
    {
        result.AddError(message);
        return placeholder;
    }

    private static readonly Regex RunIdPattern = new("^[A-Za-z0-9._-]{1,64}$", RegexOptions.CultureInvariant);
}
