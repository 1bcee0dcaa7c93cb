using System.Collections.Immutable;
using System.Globalization;
using BenchmarkDotNet.Running;
using GradientDiagnostics.Analyzers.Benchmarks;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

// 1. Per-analyzer telemetry of one analysed compilation: what each rule registered and how long it ran, in total
//    and per kind of file.
// 2. Compile vs compile + analyzers, paired and interleaved round by round, in wall and process CPU time; then
//    each analyzer alone, on the whole codebase and on its non-recurrent files.
// 3. The same pair (plus emit) under BenchmarkDotNet. Arguments: --rounds N (default 5), --skip-benchmarkdotnet;
//    anything else goes to BenchmarkDotNet.
// --cost [--rounds N] [--concurrent] [--corpus clean|mixed] [--baseline <dll>] [--calibration] instead runs only the
// issue's cost measure on the clean corpus (per-analyzer execution time as a share of emit time, and the re-analysis of
// one edited document), with another build of the analyzers (--baseline) measured in the same rounds, and exits;
// --calibration gives every arm a gradient-calibration.json with an entry for each model type of the corpus.
// --write-project <dir> [--analyzer <dll>] [--corpus clean|mixed] instead writes the codebase as an SDK project for a real
// `dotnet build` (README, "Real build (ReportAnalyzer)") and exits.
var clean = args.SkipWhile(a => a != "--corpus").Skip(1).FirstOrDefault() is not "mixed";
var writeProject = args.SkipWhile(a => a != "--write-project").Skip(1).FirstOrDefault();
if (writeProject is not null)
{
    string analyzerPath;
    int written;
    try
    {
        analyzerPath = args.SkipWhile(a => a != "--analyzer").Skip(1).FirstOrDefault() ?? ProjectWriter.DefaultAnalyzerPath();
        written = ProjectWriter.Write(writeProject, analyzerPath, clean);
    }
    catch (IOException e)
    {
        Console.Error.WriteLine(e.Message);
        return 1;
    }

    Console.WriteLine($"Wrote {written} {(clean ? "clean" : "mixed")} files and {ProjectWriter.ProjectName}.csproj to {Path.GetFullPath(writeProject)} (analyzer: {Path.GetFullPath(analyzerPath)})");
    return 0;
}

var rounds = args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).DefaultIfEmpty(5).First();
var skipBenchmarkDotNet = args.Contains("--skip-benchmarkdotnet");
string[] ownOptions = ["--skip-benchmarkdotnet", "--cost", "--concurrent", "--calibration"];
string[] ownValues = ["--rounds", "--corpus", "--baseline"];
var benchmarkArgs = args.Where((a, i) => !ownOptions.Contains(a) && !ownValues.Contains(a) && (i == 0 || !ownValues.Contains(args[i - 1]))).ToArray();

var analyzers = AnalyzerOverheadBenchmarks.CreateAnalyzers();
if (args.Contains("--cost"))
{
    var corpus = TrainingCodebase.Parse(TrainingCodebase.Generate(AnalyzerOverheadBenchmarks.MinimumFiles, clean));
    Console.WriteLine($"{(clean ? "Clean" : "Mixed")} generated codebase: {corpus.Length} files, {corpus.Sum(t => t.GetText().Lines.Count)} lines; {analyzers.Length} analyzers");
    var arms = new List<(string Name, ImmutableArray<DiagnosticAnalyzer> Analyzers)> { ("this build", analyzers) };
    if (args.SkipWhile(a => a != "--baseline").Skip(1).FirstOrDefault() is { } baseline)
    {
        arms.Add(("baseline", BaselineAnalyzers.Load(baseline)));
    }

    var options = CalibrationInput.None;
    if (args.Contains("--calibration"))
    {
        options = CalibrationInput.For(corpus, out var entries);
        Console.WriteLine($"Every arm reads {CalibrationFiles.Name} with {entries} entries, one per module type of the corpus");
    }

    await CostReport.RunAsync(corpus, arms, rounds, args.Contains("--concurrent"), options);
    await EditedDocumentCost.RunAsync(corpus, arms, rounds, options);
    return 0;
}

var trees = AnalyzerOverheadBenchmarks.CreateTrees();
Console.WriteLine($"Generated codebase: {trees.Length} files, {trees.Sum(t => t.GetText().Lines.Count)} lines; {analyzers.Length} analyzers");

if (!await TelemetryReport.RunAsync(trees, analyzers))
{
    return 1;
}

var paired = new AnalyzerOverheadBenchmarks();
paired.Setup();
PairedMeasurement.Run(paired, rounds);
Console.WriteLine();
IsolatedCost.Run(trees, analyzers);
if (skipBenchmarkDotNet)
{
    return 0;
}

var summary = BenchmarkRunner.Run<AnalyzerOverheadBenchmarks>(args: benchmarkArgs);
var means = summary.Reports.ToDictionary(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name, r => r.ResultStatistics?.Mean);
if (means.GetValueOrDefault(nameof(AnalyzerOverheadBenchmarks.Compile)) is double compile
    && means.GetValueOrDefault(nameof(AnalyzerOverheadBenchmarks.CompileWithNoOpAnalyzer)) is double floor
    && means.GetValueOrDefault(nameof(AnalyzerOverheadBenchmarks.CompileWithAnalyzers)) is double analysed
    && means.GetValueOrDefault(nameof(AnalyzerOverheadBenchmarks.CompileAndEmit)) is double emit)
{
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"BenchmarkDotNet (wall-clock means): analyzer overhead {100 * (analysed - compile) / compile:F1}% of compile ({compile / 1e6:F0} ms), {100 * (analysed - compile) / emit:F1}% of compile + emit ({emit / 1e6:F0} ms), {100 * (analysed - floor) / compile:F1}% of compile above the no-op floor; target <= 5%"));
}

return 0;
