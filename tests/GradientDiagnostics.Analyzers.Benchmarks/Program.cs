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
// --cost [--rounds N] [--concurrent] [--corpus clean|mixed|dense|<folders>] [--reference <dll or folder>]... [--baseline <dll>]...
// [--calibration] instead runs only the cost measure (per-analyzer execution time as a share of emit time, and the
// re-analysis of one edited document) on a corpus (default clean), with other builds of the analyzers (--baseline, each an
// arm named by its folder) measured in the same rounds, and exits. A folder corpus keeps the files that compile (README,
// "Corpora"); --calibration gives every arm a gradient-calibration.json with an entry for each model type of the corpus.
// --list-diagnostics --corpus <...> [--reference ...] [--assembly-name <name> --public-key <hex>] [--show-errors N] prints every
// diagnostic the analyzers report on a corpus (all its files, compiling or not), every analyzer exception and the first N
// compiler errors, and exits (non-zero on an exception).
// --write-project <dir> [--analyzer <dll>] [--corpus clean|mixed|dense] instead writes the generated codebase as an SDK
// project for a real `dotnet build` (README, "Real build (ReportAnalyzer)") and exits.
var corpusSpec = args.SkipWhile(a => a != "--corpus").Skip(1).FirstOrDefault() ?? "clean";
var references = args.Select((a, i) => (a, i)).Where(p => p.a == "--reference" && p.i + 1 < args.Length).Select(p => args[p.i + 1]).ToList();
var writeProject = args.SkipWhile(a => a != "--write-project").Skip(1).FirstOrDefault();
if (writeProject is not null)
{
    string analyzerPath;
    int written;
    try
    {
        analyzerPath = args.SkipWhile(a => a != "--analyzer").Skip(1).FirstOrDefault() ?? ProjectWriter.DefaultAnalyzerPath();
        written = ProjectWriter.Write(writeProject, analyzerPath, corpusSpec);
    }
    catch (Exception e) when (e is IOException or ArgumentException)
    {
        Console.Error.WriteLine(e.Message);
        return 1;
    }

    Console.WriteLine($"Wrote {written} {corpusSpec} files and {ProjectWriter.ProjectName}.csproj to {Path.GetFullPath(writeProject)} (analyzer: {Path.GetFullPath(analyzerPath)})");
    return 0;
}

var rounds = args.SkipWhile(a => a != "--rounds").Skip(1).Select(int.Parse).DefaultIfEmpty(5).First();
var skipBenchmarkDotNet = args.Contains("--skip-benchmarkdotnet");
string[] ownOptions = ["--skip-benchmarkdotnet", "--cost", "--concurrent", "--list-diagnostics", "--calibration"];
string[] ownValues = ["--rounds", "--corpus", "--baseline", "--reference", "--assembly-name", "--public-key", "--show-errors"];
var benchmarkArgs = args.Where((a, i) => !ownOptions.Contains(a) && !ownValues.Contains(a) && (i == 0 || !ownValues.Contains(args[i - 1]))).ToArray();

var analyzers = AnalyzerOverheadBenchmarks.CreateAnalyzers();
if (args.Contains("--cost") || args.Contains("--list-diagnostics"))
{
    Corpus corpus;
    try
    {
        corpus = Corpus.Load(
            corpusSpec,
            references,
            args.SkipWhile(a => a != "--assembly-name").Skip(1).FirstOrDefault(),
            args.SkipWhile(a => a != "--public-key").Skip(1).FirstOrDefault(),
            onlyCompiling: args.Contains("--cost"),
            Console.Out);
    }
    catch (Exception e) when (e is IOException or FormatException)
    {
        Console.Error.WriteLine(e.Message);
        return 1;
    }

    Console.WriteLine($"{corpus.Description}: {corpus.Trees.Length} files, {corpus.Trees.Sum(t => t.GetText().Lines.Count)} lines; {analyzers.Length} analyzers");
    if (args.Contains("--list-diagnostics"))
    {
        return await DiagnosticsListing.RunAsync(corpus, analyzers, args.SkipWhile(a => a != "--show-errors").Skip(1).Select(int.Parse).DefaultIfEmpty(0).First());
    }

    var arms = new List<(string Name, ImmutableArray<DiagnosticAnalyzer> Analyzers)> { ("this build", analyzers) };
    foreach (var baseline in args.Select((a, i) => (a, i)).Where(p => p.a == "--baseline" && p.i + 1 < args.Length).Select(p => args[p.i + 1]))
    {
        arms.Add((Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(baseline))) ?? "baseline", BaselineAnalyzers.Load(baseline)));
    }

    var options = CalibrationInput.None;
    if (args.Contains("--calibration"))
    {
        options = CalibrationInput.For(corpus.Trees, out var entries);
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
