using System.Collections.Immutable;
using System.Globalization;
using BenchmarkDotNet.Running;
using GradientDiagnostics.Analyzers.Benchmarks;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

// First the per-analyzer telemetry of one analysed compilation (what each rule registered and how long it ran),
// then the paired BenchmarkDotNet measurement of compile vs compile + analyzers.
var trees = AnalyzerOverheadBenchmarks.CreateTrees();
var analyzers = AnalyzerOverheadBenchmarks.CreateAnalyzers();
Console.WriteLine($"Generated codebase: {trees.Length} files, {trees.Sum(t => t.GetText().Lines.Count)} lines; {analyzers.Length} analyzers");

var compilation = TrainingCodebase.Compile("Codebase", trees);
var errors = compilation.GetDiagnostics().Count(d => d.Severity == DiagnosticSeverity.Error);
if (errors > 0)
{
    Console.Error.WriteLine($"The generated codebase has {errors} compile errors; the measurement would not be representative.");
    return 1;
}

var withAnalyzers = TrainingCodebase.Compile("Codebase", trees).WithAnalyzers(
    analyzers,
    new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), onAnalyzerException: null, concurrentAnalysis: true, logAnalyzerExecutionTime: true));
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
Console.WriteLine();

var summary = BenchmarkRunner.Run<AnalyzerOverheadBenchmarks>(args: args);
var means = summary.Reports.ToDictionary(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name, r => r.ResultStatistics?.Mean);
if (means.GetValueOrDefault(nameof(AnalyzerOverheadBenchmarks.Compile)) is double compile
    && means.GetValueOrDefault(nameof(AnalyzerOverheadBenchmarks.CompileWithAnalyzers)) is double analysed
    && means.GetValueOrDefault(nameof(AnalyzerOverheadBenchmarks.CompileAndEmit)) is double emit)
{
    var overhead = analysed - compile;
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"Analyzer overhead: {overhead / 1e6:F0} ms = {100 * overhead / compile:F1}% of compile (GetDiagnostics, {compile / 1e6:F0} ms), {100 * overhead / emit:F1}% of compile + emit ({emit / 1e6:F0} ms); target <= 5%"));
}

return 0;
