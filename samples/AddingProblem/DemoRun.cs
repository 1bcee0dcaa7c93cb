using GradientDiagnostics;
using GradientDiagnostics.Reporting;
using Spectre.Console;
using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>The main job: set up telemetry, train the chosen models side by side on the same batches, report.</summary>
public static class DemoRun
{
    public static async Task<int> RunAsync(DemoSettings settings, CancellationToken cancellation)
    {
        if (OptionChecks.FirstProblem(settings) is { } problem)
        {
            return UsageErrors.Report([problem], Console.Error);
        }

        try
        {
            TorchSharpNative.EnsureLoaded();
        }
        catch (InvalidOperationException exception)
        {
            Console.Error.WriteLine(exception.Message);
            return 1;
        }

        // The tensors here are small (batch × 32 features): one intra-op thread is as fast as two on an idle machine,
        // and it does not spin-wait when other processes compete for the cores (which made runs several times slower).
        set_num_threads(1);
        var generator = new Generator((ulong)settings.Seed);
        var trainings = new List<ModelTraining>();

        AspireDashboard? dashboard = null;
        DemoTelemetry? telemetry = null;
        try
        {
            var otlp = settings.OtlpEndpoint is null ? null : new OtlpTarget(settings.OtlpEndpoint, settings.OtlpProtocol);
            if (settings.Dashboard)
            {
                AnsiConsole.MarkupLine("Starting the Aspire dashboard…");
                dashboard = await AspireDashboard.StartAsync(Path.ChangeExtension(Path.GetFullPath(settings.ReportPath), ".dashboard.log"), cancellation);
                // Stop the child even when the process is ended without unwinding (e.g. a second Ctrl+C).
                AppDomain.CurrentDomain.ProcessExit += (_, _) => dashboard.Dispose();
                otlp = dashboard.Otlp;
                Console.WriteLine($"Aspire dashboard: {dashboard.LoginUrl}");
            }

            telemetry = DemoTelemetry.Start(settings, otlp, () => trainings);
            if (telemetry.ScrapeEndpoint is not null)
            {
                Console.WriteLine($"Prometheus scrape endpoint: {telemetry.ScrapeEndpoint}");
            }

            if (otlp is not null && dashboard is null)
            {
                Console.WriteLine($"Sending OTLP ({settings.OtlpProtocol.ToString().ToLowerInvariant()}) to {otlp.Endpoint}");
            }

            // Each model starts from the seed, so its initialisation (and run) is the same whichever others train beside it.
            if (settings.Models is ModelChoice.All or ModelChoice.Risky)
            {
                manual_seed(settings.Seed);
                trainings.Add(new RiskyTraining(settings.Hidden, settings.LearningRate, WatchOptions(telemetry)));
            }

            if (settings.Models is ModelChoice.All or ModelChoice.Exploding)
            {
                manual_seed(settings.Seed);
                trainings.Add(new RiskyExplodingTraining(settings.Hidden, settings.LearningRate, WatchOptions(telemetry)));
            }

            if (settings.Models is ModelChoice.All or ModelChoice.Recommended)
            {
                manual_seed(settings.Seed);
                trainings.Add(new RecommendedTraining(settings.Hidden, settings.SeqLen, settings.LearningRate, settings.ClipNorm, WatchOptions(telemetry)));
            }

            Console.WriteLine(
                $"Adding problem: T={settings.SeqLen}, batch={settings.Batch}, hidden={settings.Hidden}, {settings.Steps} steps, run {settings.RunId}");
            var done = ConsoleView.Run(trainings, settings.Steps, step =>
            {
                using var scope = NewDisposeScope();
                var (inputs, targets) = AddingTask.Batch(settings.Batch, settings.SeqLen, generator);
                foreach (var training in trainings)
                {
                    training.Step(step, inputs, targets);
                }
            }, cancellation);

            if (done < settings.Steps)
            {
                Console.WriteLine($"Stopped after {done} of {settings.Steps} steps; reporting what was trained.");
            }

            ConsoleView.Summary(trainings, settings.SeqLen);
            if (settings.CalibrationPath is { } calibration && CalibrationOutput.Write(calibration, trainings) != 0)
            {
                return 1;
            }

            string reportPath;
            try
            {
                reportPath = GradientHtmlReport.Write(
                    settings.ReportPath,
                    trainings.Select(t => t.ToReportRun()).ToArray(),
                    new GradientReportOptions { Title = $"Adding problem (T = {settings.SeqLen}): vanishing and exploding gradients, and the model the analyzer recommends" });
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"--report: cannot write '{settings.ReportPath}': {exception.Message}");
                return 1;
            }

            Console.WriteLine($"Report: {reportPath}");

            if (settings.Hold && !cancellation.IsCancellationRequested)
            {
                Console.WriteLine("Training finished; telemetry endpoints stay up. Press Enter (or Ctrl+C) to stop.");
                await WaitForEnterAsync(cancellation);
            }

            return done < settings.Steps ? 130 : 0;
        }
        finally
        {
            foreach (var training in trainings)
            {
                training.Dispose();
            }

            telemetry?.Dispose();
            dashboard?.Dispose();
        }
    }

    /// <summary>
    /// No ModelName: each watch names its model by its type (RiskyModel, RiskyExplodingModel, RecommendedModel), the
    /// name the analyzer matches calibration-file entries by.
    /// </summary>
    private static GradientWatchOptions WatchOptions(DemoTelemetry telemetry) => new()
    {
        LoggerFactory = telemetry.LoggerFactory,
    };

    private static async Task WaitForEnterAsync(CancellationToken cancellation)
    {
        // A console read does not observe a cancellation token, so Ctrl+C races the read instead.
        // End of input (a closed pipe, /dev/null) counts as Enter.
        var enter = Task.Run(Console.In.ReadLine);
        var cancelled = Task.Delay(Timeout.Infinite, cancellation);
        await Task.WhenAny(enter, cancelled);
    }
}
