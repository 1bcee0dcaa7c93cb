using System.Collections.Immutable;
using System.Globalization;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>Roslyn's own per-analyzer telemetry: registered actions and execution time, in total and per kind of file.</summary>
public static class TelemetryReport
{
    public static async Task<bool> RunAsync(ImmutableArray<SyntaxTree> trees, ImmutableArray<DiagnosticAnalyzer> analyzers)
    {
        var compilation = TrainingCodebase.Compile("Codebase", trees);
        var errors = compilation.GetDiagnostics().Count(d => d.Severity == DiagnosticSeverity.Error);
        if (errors > 0)
        {
            Console.Error.WriteLine($"The generated codebase has {errors} compile errors; the measurement would not be representative.");
            return false;
        }

        // Sequential analysis, so that each analyzer's time is its own and not inflated by threads waiting for the cores.
        var withAnalyzers = NewAnalysis(trees, analyzers);
        var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync(CancellationToken.None);
        Console.WriteLine($"Analyzer diagnostics: {string.Join(", ", diagnostics.GroupBy(d => d.Id).OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}"))}");
        Console.WriteLine();
        Console.WriteLine($"{"analyzer",-44} {"exec ms",9} {"operation",9} {"op-block",9} {"syntax",7} {"symbol",7} {"tree",5} {"comp.start",10}");
        var total = TimeSpan.Zero;
        foreach (var analyzer in analyzers)
        {
            var info = await withAnalyzers.GetAnalyzerTelemetryInfoAsync(analyzer, CancellationToken.None);
            total += info.ExecutionTime;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{analyzer.GetType().Name,-44} {info.ExecutionTime.TotalMilliseconds,9:F1} {info.OperationActionsCount,9} {info.OperationBlockStartActionsCount + info.OperationBlockActionsCount,9} {info.SyntaxNodeActionsCount,7} {info.SymbolActionsCount + info.SymbolStartActionsCount,7} {info.SyntaxTreeActionsCount,5} {info.CompilationStartActionsCount,10}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"total analyzer execution time",-44} {total.TotalMilliseconds,9:F1}"));
        Console.WriteLine("(Roslyn's execution times include binding that an analyzer's callbacks trigger and run far above the");
        Console.WriteLine(" process CPU time measured below: read them as a ranking, not as the cost.)");
        Console.WriteLine();
        return true;
    }

    private static CompilationWithAnalyzers NewAnalysis(ImmutableArray<SyntaxTree> trees, ImmutableArray<DiagnosticAnalyzer> analyzers) =>
        TrainingCodebase.Compile("Codebase", trees).WithAnalyzers(
            analyzers,
            new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), onAnalyzerException: null, concurrentAnalysis: false, logAnalyzerExecutionTime: true));

}
