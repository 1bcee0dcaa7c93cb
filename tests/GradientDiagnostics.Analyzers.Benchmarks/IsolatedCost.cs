using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// Each analyzer alone, as process CPU time above the no-op operation analyzer, over the whole codebase and over its
/// files that contain no recurrent module at all (feed-forward models, their trainers, data and utilities): a rule
/// that costs much on the second set is doing work it could have skipped.
/// </summary>
public static class IsolatedCost
{
    private static readonly string[] NonRecurrentKinds = ["FeedForwardModel", "ClassifierTrainer", "SyntheticSequences", "TrainingUtilities"];

    public static void Run(ImmutableArray<SyntaxTree> trees, ImmutableArray<DiagnosticAnalyzer> analyzers, int repetitions = 3)
    {
        var nonRecurrent = trees.Where(t => NonRecurrentKinds.Any(kind => Path.GetFileName(t.FilePath).StartsWith(kind, StringComparison.Ordinal))).ToImmutableArray();
        var floorAll = Median(repetitions, () => AnalyzeCpu(trees, new NoOpOperationAnalyzer()));
        var floorNonRecurrent = Median(repetitions, () => AnalyzeCpu(nonRecurrent, new NoOpOperationAnalyzer()));
        var compileAll = Median(repetitions, () => CompileCpu(trees));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Each analyzer alone, median CPU ms above compile + no-op analyzer ({floorAll:F0} ms; compile alone {compileAll:F0} ms):"));
        Console.WriteLine($"{"analyzer",-44} {"all " + trees.Length + " files",16} {"% of compile",12} {nonRecurrent.Length + " non-recurrent",18}");
        foreach (var analyzer in analyzers)
        {
            var all = Median(repetitions, () => AnalyzeCpu(trees, analyzer)) - floorAll;
            var plain = Median(repetitions, () => AnalyzeCpu(nonRecurrent, analyzer)) - floorNonRecurrent;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{analyzer.GetType().Name,-44} {all,16:F0} {100 * all / compileAll,11:F1}% {plain,18:F0}"));
        }

        Console.WriteLine();
    }

    private static double CompileCpu(ImmutableArray<SyntaxTree> trees) => Cpu(() => TrainingCodebase.Compile("Codebase", trees).GetDiagnostics());

    private static double AnalyzeCpu(ImmutableArray<SyntaxTree> trees, DiagnosticAnalyzer analyzer) => Cpu(() =>
        TrainingCodebase.Compile("Codebase", trees)
            .WithAnalyzers([analyzer], new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), onAnalyzerException: null, concurrentAnalysis: true, logAnalyzerExecutionTime: false))
            .GetAllDiagnosticsAsync(CancellationToken.None).GetAwaiter().GetResult());

    private static double Cpu(Action action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        action();
        process.Refresh();
        return (process.TotalProcessorTime - before).TotalMilliseconds;
    }

    private static double Median(int repetitions, Func<double> measure)
    {
        var values = Enumerable.Range(0, repetitions).Select(_ => measure()).Order().ToList();
        return values[values.Count / 2];
    }
}
