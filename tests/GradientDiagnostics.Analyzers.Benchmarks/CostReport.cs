using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// The issue's cost measure: Roslyn's own per-analyzer execution time (<c>GetAnalyzerTelemetryInfoAsync</c>) as a share of
/// the compiler's emit time for the same codebase. Each round emits one fresh compilation and analyses fresh ones with each
/// arm (this build's analyzers and, with <c>--baseline</c>, another build's), in alternating order, so load from other
/// processes on the shared machine hits every arm alike. Shares are medians of the per-round ratios.
/// </summary>
public static class CostReport
{
    private const int WarmUpRounds = 6;

    public static async Task RunAsync(Corpus corpus, IReadOnlyList<(string Name, ImmutableArray<DiagnosticAnalyzer> Analyzers)> arms, int rounds, bool concurrent, AnalyzerOptions options)
    {
        var emits = new List<double>();
        var shares = arms.Select(_ => new Dictionary<string, List<double>>()).ToList();
        var diagnostics = arms.Select(_ => (IEnumerable<string>)[]).ToList();

        // Unmeasured rounds first: the JIT tiers Roslyn's and the analyzers' code up, which takes several whole analyses.
        for (var round = -WarmUpRounds; round < rounds; round++)
        {
            var emit = EmitMilliseconds(corpus);
            var line = string.Create(CultureInfo.InvariantCulture, $"round {round + 1}{(round < 0 ? " (warm-up)" : string.Empty)}: emit {emit:F0} ms");
            var order = Enumerable.Range(0, arms.Count).ToList();
            if (round % 2 != 0)
            {
                order.Reverse();
            }

            foreach (var arm in order)
            {
                var (times, found) = await AnalyzeAsync(corpus, arms[arm].Analyzers, concurrent, options);
                var total = times.Values.Sum();
                line += string.Create(CultureInfo.InvariantCulture, $"; {arms[arm].Name} {total:F0} ms ({100 * total / emit:F1}%)");
                if (round < 0)
                {
                    continue;
                }

                diagnostics[arm] = found;
                foreach (var (analyzer, time) in times.Append(new("all rules", total)))
                {
                    (shares[arm].TryGetValue(analyzer, out var list) ? list : shares[arm][analyzer] = []).Add(time / emit);
                }
            }

            Console.WriteLine(line);
            if (round >= 0)
            {
                emits.Add(emit);
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Per-analyzer execution time as a share of emit time ({(concurrent ? "concurrent" : "sequential")} analysis), median of {rounds} paired rounds; emit {Median(emits):F0} ms (median)"));
        for (var arm = 0; arm < arms.Count; arm++)
        {
            Console.WriteLine($"{arms[arm].Name}: diagnostics {(diagnostics[arm].Any() ? string.Join(", ", diagnostics[arm]) : "none")}");
        }

        var names = shares.SelectMany(s => s.Keys).Distinct().OrderBy(n => n == "all rules").ThenByDescending(n => shares[0].TryGetValue(n, out var v) ? Median(v) : 0).ToList();
        Console.WriteLine("| analyzer | " + string.Join(" | ", arms.Select(a => a.Name + " % of emit")) + " |");
        Console.WriteLine("|---|" + string.Concat(arms.Select(_ => "---:|")));
        foreach (var name in names)
        {
            Console.WriteLine($"| {name} | " + string.Join(" | ", shares.Select(s => s.TryGetValue(name, out var v) ? string.Create(CultureInfo.InvariantCulture, $"{100 * Median(v):F1}%") : "—")) + " |");
        }

        for (var arm = 0; arm < arms.Count; arm++)
        {
            Console.WriteLine($"{arms[arm].Name}, all rules / emit per round: {string.Join(", ", shares[arm]["all rules"].Select(r => (100 * r).ToString("F1", CultureInfo.InvariantCulture) + "%"))} (target <= 20%, goal 5%)");
        }

        Console.WriteLine();
    }

    /// <summary>The rule ids an analyzer reports (<c>GD0003/GD0004</c>): how rows of two builds are matched.</summary>
    public static string Describe(DiagnosticAnalyzer analyzer) => string.Join("/", analyzer.SupportedDiagnostics.Select(d => d.Id));

    private static double EmitMilliseconds(Corpus corpus)
    {
        var compilation = corpus.Compile();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var watch = Stopwatch.StartNew();
        using var peStream = new MemoryStream();
        var result = compilation.Emit(peStream);
        watch.Stop();
        if (!result.Success)
        {
            throw new InvalidOperationException($"The {corpus.Description} does not compile: " + result.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error));
        }

        return watch.Elapsed.TotalMilliseconds;
    }

    private static async Task<(Dictionary<string, double> Times, IEnumerable<string> Diagnostics)> AnalyzeAsync(
        Corpus corpus, ImmutableArray<DiagnosticAnalyzer> analyzers, bool concurrent, AnalyzerOptions options)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var analysis = corpus.Compile().WithAnalyzers(
            analyzers,
            new CompilationWithAnalyzersOptions(options, onAnalyzerException: null, concurrentAnalysis: concurrent, logAnalyzerExecutionTime: true));
        var diagnostics = await analysis.GetAnalyzerDiagnosticsAsync(CancellationToken.None);
        var times = new Dictionary<string, double>();
        foreach (var analyzer in analyzers)
        {
            times[Describe(analyzer)] = (await analysis.GetAnalyzerTelemetryInfoAsync(analyzer, CancellationToken.None)).ExecutionTime.TotalMilliseconds;
        }

        return (times, diagnostics.GroupBy(d => d.Id).OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}").ToList());
    }

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
