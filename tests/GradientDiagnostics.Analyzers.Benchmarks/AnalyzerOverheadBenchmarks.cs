using System.Collections.Immutable;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// Compiling a 500-file TorchSharp codebase with and without every GradientDiagnostics analyzer, paired in one run.
/// Each invocation builds a fresh compilation: Roslyn caches binding results per compilation, so reusing one would
/// measure the analyzers against an already-bound compilation.
/// </summary>
[Config(typeof(BenchmarkConfig))]
public class AnalyzerOverheadBenchmarks
{
    public const int MinimumFiles = 500;

    private ImmutableArray<SyntaxTree> trees;
    private ImmutableArray<DiagnosticAnalyzer> analyzers;

    /// <summary>Every analyzer in the GradientDiagnostics.Analyzers assembly.</summary>
    public static ImmutableArray<DiagnosticAnalyzer> CreateAnalyzers() => typeof(DiagnosticDescriptors).Assembly.GetTypes()
        .Where(t => typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && !t.IsAbstract && t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null)
        .OrderBy(t => t.FullName, StringComparer.Ordinal)
        .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
        .ToImmutableArray();

    public static ImmutableArray<SyntaxTree> CreateTrees() => TrainingCodebase.Parse(TrainingCodebase.Generate(MinimumFiles));

    [GlobalSetup]
    public void Setup()
    {
        trees = CreateTrees();
        analyzers = CreateAnalyzers();
    }

    [Benchmark(Baseline = true, Description = "compile (GetDiagnostics)")]
    public int Compile() => NewCompilation().GetDiagnostics().Length;

    [Benchmark(Description = "compile + emit")]
    public bool CompileAndEmit()
    {
        using var peStream = new MemoryStream();
        return NewCompilation().Emit(peStream).Success;
    }

    [Benchmark(Description = "compile + no-op operation analyzer")]
    public int CompileWithNoOpAnalyzer() => Analyze([new NoOpOperationAnalyzer()]);

    [Benchmark(Description = "compile + all analyzers")]
    public int CompileWithAnalyzers() => Analyze(analyzers);

    private int Analyze(ImmutableArray<DiagnosticAnalyzer> selected) => NewCompilation()
        .WithAnalyzers(selected, new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), onAnalyzerException: null, concurrentAnalysis: true, logAnalyzerExecutionTime: false))
        .GetAllDiagnosticsAsync(CancellationToken.None).GetAwaiter().GetResult().Length;

    private CSharpCompilation NewCompilation() => TrainingCodebase.Compile("Codebase", trees);
}
