using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// Each analyzer alone, as process CPU time above compiling, over the whole codebase and over its
/// files that contain no recurrent module at all (feed-forward models, their trainers, data and utilities): a rule
/// that costs much on the second set is doing work it could have skipped.
/// </summary>
public static class IsolatedCost
{
    private static readonly string[] NonRecurrentKinds = ["FeedForwardModel", "ClassifierTrainer", "SyntheticSequences", "TrainingUtilities"];

    public static void Run(ImmutableArray<SyntaxTree> trees, ImmutableArray<DiagnosticAnalyzer> analyzers, int repetitions = 3)
    {
        var nonRecurrent = trees.Where(t => NonRecurrentKinds.Any(kind => Path.GetFileName(t.FilePath).StartsWith(kind, StringComparison.Ordinal))).ToImmutableArray();
        Console.WriteLine($"Each analyzer alone: median over {repetitions} interleaved pairs of (compile + analyzer - compile) / compile, process CPU time");
        Console.WriteLine($"{"analyzer",-44} {"all " + trees.Length + " files",16} {nonRecurrent.Length + " non-recurrent files",24}");
        foreach (var analyzer in analyzers.Append(new NoOpOperationAnalyzer()))
        {
            var all = PairedOverhead(trees, analyzer, repetitions);
            var plain = PairedOverhead(nonRecurrent, analyzer, repetitions);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{analyzer.GetType().Name,-44} {100 * all,15:F1}% {100 * plain,23:F1}%"));
        }

        Console.WriteLine();
    }

    private static double PairedOverhead(ImmutableArray<SyntaxTree> trees, DiagnosticAnalyzer analyzer, int repetitions)
    {
        var ratios = new List<double>();
        for (var i = 0; i < repetitions; i++)
        {
            var compile = CompileCpu(trees);
            ratios.Add((AnalyzeCpu(trees, analyzer) - compile) / compile);
        }

        ratios.Sort();
        return ratios[ratios.Count / 2];
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
}
