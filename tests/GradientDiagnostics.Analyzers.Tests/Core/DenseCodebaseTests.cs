using System.Collections.Immutable;
using System.Text.RegularExpressions;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>
/// The dense generated codebase (tests/Shared/DenseTrainingCodebase*.cs), the analyzer benchmark's second clean corpus,
/// is what the benchmark says it is: recurrent training code, written correctly, that compiles and on which every rule is
/// silent — and code the rules do read, since the same code with its clipping or its detaching taken out is reported.
/// </summary>
public class DenseCodebaseTests
{
    // Every choice the generator makes depends on the group number modulo 2, 3 or 4: twelve groups hold them all.
    private static readonly ImmutableArray<(string Path, string Text)> Files =
        Enumerable.Range(0, 12).SelectMany(k => DenseTrainingCodebase.Group(k)).ToImmutableArray();

    [Fact]
    public async Task Every_rule_is_silent_on_the_dense_codebase_and_it_compiles()
    {
        var compilation = TrainingCodebase.Compile("Dense", TrainingCodebase.Parse(Files), DenseTrainingCodebase.References);
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(20).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));

        var result = await AnalyzerRunner.RunAsync(compilation, AnalyzerCatalog.CreateAnalyzers());
        Assert.Empty(result.Failures);
        Assert.Empty(result.Diagnostics.Select(d => d.ToString()));
    }

    [Fact]
    public async Task Without_its_clipping_every_recurrent_trainer_of_the_dense_codebase_is_reported()
    {
        // Clipping statements go from the trainers; the utilities' Clip helper stays, unused.
        var unclipped = Files.Select(f => f.Path.Contains("/Utilities/", StringComparison.Ordinal)
            ? f
            : (f.Path, Regex.Replace(f.Text, @"^[ \t]*[^\n]*(clip_grad_norm_|clip_grad_value_|GradientUtilities\d+\.Clip)\([^\n]*\n", string.Empty, RegexOptions.Multiline)));
        var reported = await FilesReporting("GD0001", unclipped);

        string[] trainers = ["TbpttTrainer", "CellTrainer", "StreamingTrainer", "AccumulatingTrainer", "Seq2SeqTrainer", "Translator", "PackedClassifier"];
        foreach (var path in Files.Select(f => f.Path).Where(p => trainers.Any(t => Path.GetFileName(p).StartsWith(t, StringComparison.Ordinal))))
        {
            Assert.Contains(path, reported);
        }
    }

    [Fact]
    public async Task Without_its_detaching_every_carried_state_of_the_dense_codebase_is_reported()
    {
        var attached = Files.Select(f => (f.Path, f.Text.Replace(".detach()", string.Empty, StringComparison.Ordinal)));
        var reported = await FilesReporting("GD0002", attached);

        foreach (var path in Files.Select(f => f.Path).Where(p => Path.GetFileName(p).StartsWith("TbpttTrainer", StringComparison.Ordinal) || Path.GetFileName(p).StartsWith("StreamingTrainer", StringComparison.Ordinal)))
        {
            Assert.Contains(path, reported);
        }
    }

    private static async Task<HashSet<string>> FilesReporting(string id, IEnumerable<(string Path, string Text)> files)
    {
        var compilation = TrainingCodebase.Compile("Dense", TrainingCodebase.Parse(files), DenseTrainingCodebase.References);
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var result = await AnalyzerRunner.RunAsync(compilation, AnalyzerCatalog.CreateAnalyzers());
        Assert.Empty(result.Failures);
        return result.Diagnostics.Where(d => d.Id == id).Select(d => d.Location.SourceTree!.FilePath).ToHashSet();
    }
}
