using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// The samples compiled in-process, as their own builds compile them (same sources, implicit usings, TorchSharp.dll),
/// with every shipped analyzer: RiskyTraining trips each training rule, its safe twin trips none.
/// </summary>
public class SampleAnalysisTests
{
    [Fact]
    public async Task RiskyTraining_trips_every_training_rule()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var diagnostics = await AnalyzeSampleAsync("RiskyTraining");
        var reported = diagnostics.Select(d => d.Id).Where(id => id.StartsWith("GD", StringComparison.Ordinal)).ToImmutableSortedSet(StringComparer.Ordinal);
        Assert.True(
            ShippedRules.ImplementedTrainingRules.SetEquals(reported),
            $"Expected exactly [{string.Join(", ", ShippedRules.ImplementedTrainingRules)}], got [{string.Join(", ", reported)}]:\n{Describe(diagnostics)}");
    }

    [Fact]
    public async Task SafeTraining_trips_no_rule()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var diagnostics = await AnalyzeSampleAsync("SafeTraining");
        var gradientDiagnostics = diagnostics.Where(d => d.Id.StartsWith("GD", StringComparison.Ordinal)).ToList();
        Assert.True(gradientDiagnostics.Count == 0, "False positives in the safe sample:\n" + Describe(gradientDiagnostics));
    }

    [Fact]
    public async Task AddingProblem_trips_no_rule()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var diagnostics = await AnalyzeSampleAsync("AddingProblem", typeof(System.CommandLine.RootCommand).Assembly.Location);
        var gradientDiagnostics = diagnostics.Where(d => d.Id.StartsWith("GD", StringComparison.Ordinal)).ToList();
        Assert.True(gradientDiagnostics.Count == 0, "False positives in the adding-problem sample:\n" + Describe(gradientDiagnostics));
    }

    private static async Task<ImmutableArray<Diagnostic>> AnalyzeSampleAsync(string sample, params string[] extraReferences)
    {
        var directory = Repository.Sample(sample);
        var trees = Directory.GetFiles(directory, "*.cs", SearchOption.TopDirectoryOnly)
            .Select(path => CSharpSyntaxTree.ParseText(File.ReadAllText(path), ParseOptions, path))
            .Append(CSharpSyntaxTree.ParseText(ImplicitUsings, ParseOptions, Path.Combine(directory, "obj", "ImplicitUsings.g.cs")));
        var compilation = CSharpCompilation.Create(
            sample,
            trees,
            PlatformReferences.Value.Concat(extraReferences.Append(typeof(TorchSharp.torch).Assembly.Location).Select(p => MetadataReference.CreateFromFile(p))),
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));

        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, $"samples/{sample} does not compile in-process:\n{Describe(errors)}");

        var analyzers = compilation.WithAnalyzers(ShippedRules.Analyzers, new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty), onAnalyzerException: null, concurrentAnalysis: true, logAnalyzerExecutionTime: false, reportSuppressedDiagnostics: false));
        var diagnostics = await analyzers.GetAnalyzerDiagnosticsAsync();
        // An analyzer that throws shows up as AD0001 and silences every rule: that is a failure, never a pass.
        var crashes = diagnostics.Where(d => d.Id == "AD0001").ToList();
        Assert.True(crashes.Count == 0, "An analyzer threw:\n" + Describe(crashes));
        return diagnostics;
    }

    private static string Describe(IEnumerable<Diagnostic> diagnostics) => string.Join("\n", diagnostics.Select(d => d.ToString()));

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    // What <ImplicitUsings>enable</ImplicitUsings> generates for a Microsoft.NET.Sdk console project.
    private const string ImplicitUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    // The shared framework the tests run on; the test's own dependencies (also trusted) are not the sample's.
    private static readonly Lazy<ImmutableArray<MetadataReference>> PlatformReferences = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => Path.GetDirectoryName(p) == Path.GetDirectoryName(typeof(object).Assembly.Location))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray());
}
