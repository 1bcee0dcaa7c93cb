using System.Collections.Immutable;
using System.Text.RegularExpressions;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// The analyzer options of a measured compilation: none, or (<c>--calibration</c>) one gradient-calibration.json with an
/// entry for every module type the corpus declares, so that GD0011 and GD0001 look every training step's model up and
/// GD1001 reads the file — the cost a user pays once a watched run has written the file.
/// </summary>
public static partial class CalibrationInput
{
    public static AnalyzerOptions None { get; } = new([]);

    public static AnalyzerOptions For(ImmutableArray<SyntaxTree> corpus, out int entries)
    {
        var models = corpus.SelectMany(tree => ModuleType().Matches(tree.GetText().ToString()).Select(match => match.Groups["name"].Value))
            .Distinct(StringComparer.Ordinal)
            .Select(CalibrationFiles.HealthyLstm)
            .ToArray();
        entries = models.Length;
        return new AnalyzerOptions([new InMemoryText(CalibrationFiles.Path, CalibrationFiles.Json(models))]);
    }

    [GeneratedRegex(@"\bclass (?<name>\w+)\s*:\s*nn\.Module\b")]
    private static partial Regex ModuleType();

    private sealed class InMemoryText(string path, string text) : AdditionalText
    {
        private readonly SourceText content = SourceText.From(text);

        public override string Path => path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => content;
    }
}
