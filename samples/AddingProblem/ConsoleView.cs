using System.Globalization;
using GradientDiagnostics;
using GradientDiagnostics.Reporting;
using Spectre.Console;

namespace AddingProblem;

/// <summary>
/// The console: a live progress display in a terminal (plain lines when the output is redirected, e.g. in CI),
/// and the summary table at the end.
/// </summary>
public static class ConsoleView
{
    public static bool Live => AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    /// <summary>Runs <paramref name="trainStep"/> for steps 1…<paramref name="steps"/> and shows how the trainings go.</summary>
    /// <returns>The number of steps done (fewer when cancelled).</returns>
    public static int Run(IReadOnlyList<ModelTraining> trainings, int steps, Action<int> trainStep, CancellationToken cancellation)
    {
        if (!Live)
        {
            return RunPlain(trainings, steps, trainStep, cancellation);
        }

        var done = 0;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var tasks = trainings.Select(t => context.AddTask(Describe(t, 0, steps), maxValue: steps)).ToArray();
                for (var step = 1; step <= steps && !cancellation.IsCancellationRequested; step++)
                {
                    trainStep(step);
                    done = step;
                    for (var i = 0; i < trainings.Count; i++)
                    {
                        tasks[i].Description = Describe(trainings[i], step, steps);
                        tasks[i].Value = step;
                    }
                }
            });
        return done;
    }

    private static int RunPlain(IReadOnlyList<ModelTraining> trainings, int steps, Action<int> trainStep, CancellationToken cancellation)
    {
        var interval = Math.Max(1, steps / 10);
        var done = 0;
        for (var step = 1; step <= steps && !cancellation.IsCancellationRequested; step++)
        {
            trainStep(step);
            done = step;
            if (step == 1 || step % interval == 0 || step == steps)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step,5}/{steps}  ")
                    + string.Join("  |  ", trainings.Select(t => string.Create(
                        CultureInfo.InvariantCulture,
                        $"{t.Name}: loss {t.LastLoss:F4}  global norm {t.LastReport?.GlobalNorm:G3}  anomalies {t.AnomalyCount}"))));
            }
        }

        return done;
    }

    private static string Describe(ModelTraining training, int step, int steps)
    {
        var anomalies = training.AnomalyCount == 0 ? "[green]0[/]" : $"[red]{training.AnomalyCount}[/]";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"[bold]{Markup.Escape(training.Name),-19}[/] step {step,4}/{steps}  loss {training.LastLoss ?? double.NaN,7:F4}  "
            + $"global norm {training.LastReport?.GlobalNorm ?? double.NaN,9:G3}  anomalies ") + anomalies;
    }

    public static void Summary(IReadOnlyList<ModelTraining> trainings, int seqLen)
    {
        if (Console.IsOutputRedirected)
        {
            // Logs and CI keep long lines; wrapping each cell over many lines would make the table unreadable there.
            AnsiConsole.Profile.Width = 200;
        }

        var table = new Table().Title($"[bold]Adding problem, T = {seqLen}[/]")
            .AddColumn("model")
            .AddColumn(new TableColumn("final loss").RightAligned())
            .AddColumn(new TableColumn("median global norm").RightAligned())
            .AddColumn(new TableColumn("max global norm").RightAligned())
            .AddColumn(new TableColumn("gradient at t=0 / t=T-1").RightAligned())
            .AddColumn(new TableColumn("memory horizon").RightAligned())
            .AddColumn(new TableColumn("per-step gain").RightAligned())
            .AddColumn(new TableColumn("anomalies (non-finite / exploding / vanishing)").RightAligned())
            .AddColumn("analyzer");
        var summaries = trainings.Select(t => (Training: t, Summary: GradientRunSummary.From(t.ToReportRun()))).ToList();
        foreach (var (training, summary) in summaries)
        {
            var findings = training.Findings.Select(f => f.Split(':')[0]).Where(f => f.StartsWith("GD", StringComparison.Ordinal)).ToArray();
            table.AddRow(
                new Markup($"[bold]{Markup.Escape(training.Name)}[/]"),
                new Text(Format(summary.FinalLoss, summary.FinalLoss < 1000 ? "F4" : "G3")),
                new Text(Format(summary.MedianGlobalNorm)),
                new Text(Format(summary.MaxGlobalNorm)),
                new Text(Format(summary.FirstToLastTimestepRatio)),
                new Text(summary.MemoryHorizon?.Reach ?? "-"),
                new Text(Format(summary.MemoryHorizon?.PerStepGain)),
                new Markup(string.Join(" / ", new[] { GradientAnomalyKind.NonFinite, GradientAnomalyKind.Exploding, GradientAnomalyKind.Vanishing }
                    .Select(kind => summary.Anomalies[kind] == 0 ? "0" : $"[red]{summary.Anomalies[kind]}[/]"))),
                new Markup(findings.Length == 0 ? "[green]no warnings[/]" : $"[yellow]{string.Join(", ", findings)}[/]"));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(string.Create(
            CultureInfo.InvariantCulture,
            $"Predicting the mean scores a loss of {AddingTask.MeanPredictorLoss:F3}; learning the task means going well below it."));
        AnsiConsole.MarkupLine(string.Create(
            CultureInfo.InvariantCulture,
            $"The first marked input lies in the first half: a memory horizon below T/2 = {seqLen / 2} cannot reach it. A per-step gain below 1 vanishes, above 1 explodes."));
        foreach (var (training, summary) in summaries)
        {
            var unprofiled = summary.Unprofiled;
            if (unprofiled.Count > 0)
            {
                // Nothing silent: a module the watch could not see is named with the way out.
                AnsiConsole.MarkupLine(Markup.Escape(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{training.Name}: not profiled: {string.Join(", ", unprofiled.Select(u => $"{u.Key} ({u.Value} steps)"))}. Invoke recurrent modules with call(...), and pass packed input through GradientWatch.TrackInput.")));
            }
        }
    }

    private static string Format(double? value, string format = "G3") => value switch
    {
        null => "-",
        { } v => v.ToString(format, CultureInfo.InvariantCulture),
    };
}
