using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The calibration files among a compilation's AdditionalFiles, read and merged: one entry per model name across all of
/// them. Which AdditionalFiles are calibration files (docs/calibration.md, "The analyzer's side"):
/// <list type="bullet">
/// <item><c>gradient-calibration.json</c> (any case) — the conventional name, which the analyzer package's build props add
/// from the project folder — and any file whose item has <c>GradientDiagnosticsCalibration="true"</c>: always, so
/// whatever is wrong with them is reported (GD1001);</item>
/// <item>any other <c>*calibration*.json</c> that declares a <c>gradient-diagnostics/calibration/…</c> schema; one that
/// does not is someone else's file and is left alone.</item>
/// </list>
/// A model with entries in two files has none: which measurement is meant cannot be told (GD1001 says so).
/// Cost: one file-name test per AdditionalFile when no file qualifies; a file's text is parsed once per text instance
/// (hosts keep an unchanged file's text) and the merged set is kept per <see cref="AnalyzerOptions"/>.
/// </summary>
internal sealed class CalibrationSet
{
    public const string ConventionalFileName = "gradient-calibration.json";

    /// <summary>The item metadata that marks any AdditionalFile as a calibration file (made visible by the package's build props).</summary>
    public const string MetadataKey = "build_metadata.AdditionalFiles.GradientDiagnosticsCalibration";

    public static readonly CalibrationSet Empty = new(ImmutableArray<CalibrationFileContent>.Empty, ImmutableDictionary<string, CalibrationEntry>.Empty, ImmutableArray<(string, CalibrationProblem)>.Empty);

    private static readonly ConditionalWeakTable<AnalyzerOptions, CalibrationSet> Sets = new();
    private static readonly ConditionalWeakTable<AdditionalText, StrongBox<(SourceText Text, bool Claimed, CalibrationFileContent Content)?>> ReadFiles = new();

    private readonly ImmutableDictionary<string, CalibrationEntry> entries;
    private readonly ImmutableArray<(string Path, CalibrationProblem Problem)> conflicts;

    private CalibrationSet(ImmutableArray<CalibrationFileContent> files, ImmutableDictionary<string, CalibrationEntry> entries, ImmutableArray<(string, CalibrationProblem)> conflicts)
    {
        Files = files;
        this.entries = entries;
        this.conflicts = conflicts;
    }

    /// <summary>The calibration files, in AdditionalFiles order.</summary>
    public ImmutableArray<CalibrationFileContent> Files { get; }

    /// <summary>True when no usable entry exists: the calibration rules have nothing to judge by.</summary>
    public bool IsEmpty => entries.Count == 0;

    public static CalibrationSet For(AnalyzerOptions options, CancellationToken cancellationToken) =>
        Sets.GetValue(options, o => Create(o, cancellationToken));

    /// <summary>The entry recorded under exactly this model name (ordinal), or null.</summary>
    public CalibrationEntry? Entry(string model) => entries.TryGetValue(model, out var entry) ? entry : null;

    /// <summary>
    /// False when no entry would report <paramref name="threshold"/> (<see cref="CalibrationEntry.IsFarBelow"/>,
    /// <see cref="CalibrationEntry.IsFarAbove"/>): then which model a clip serves need not be looked up.
    /// </summary>
    public bool CouldReport(double threshold, double lowFactor, double highFactor)
    {
        foreach (var entry in entries.Values)
        {
            if (entry.IsFarBelow(threshold, lowFactor) || entry.IsFarAbove(threshold, highFactor))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What is wrong with the calibration file at <paramref name="path"/>, including entries other files contradict.</summary>
    public IEnumerable<CalibrationProblem> ProblemsIn(string path) =>
        Files.Where(file => file.Path == path).SelectMany(file => file.Problems)
            .Concat(conflicts.Where(conflict => conflict.Path == path).Select(conflict => conflict.Problem));

    /// <summary>The file name of a path written with either separator (analyzers see the paths of any host OS).</summary>
    public static string FileName(string path) => path.Substring(path.LastIndexOfAny(['/', '\\']) + 1);

    private static CalibrationSet Create(AnalyzerOptions options, CancellationToken cancellationToken)
    {
        var files = ImmutableArray.CreateBuilder<CalibrationFileContent>();
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var additional in options.AdditionalFiles)
        {
            var name = FileName(additional.Path);
            var claimed = string.Equals(name, ConventionalFileName, StringComparison.OrdinalIgnoreCase) || IsMarked(options, additional);
            var candidate = claimed
                || (name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && name.IndexOf("calibration", StringComparison.OrdinalIgnoreCase) >= 0);

            // The same file can be listed twice (the package's props and the user's own AdditionalFiles item).
            if (candidate && paths.Add(additional.Path) && Read(additional, claimed, cancellationToken) is { IsCalibrationFile: true } content)
            {
                files.Add(content);
            }
        }

        return files.Count == 0 ? Empty : Merge(files.ToImmutable());
    }

    private static bool IsMarked(AnalyzerOptions options, AdditionalText file) =>
        options.AnalyzerConfigOptionsProvider.GetOptions(file).TryGetValue(MetadataKey, out var value)
        && string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    private static CalibrationFileContent? Read(AdditionalText file, bool claimed, CancellationToken cancellationToken)
    {
        if (file.GetText(cancellationToken) is not { } text)
        {
            return null;
        }

        var read = ReadFiles.GetValue(file, _ => new StrongBox<(SourceText, bool, CalibrationFileContent)?>());
        if (read.Value is { } known && known.Text == text && known.Claimed == claimed)
        {
            return known.Content;
        }

        var content = CalibrationFileReader.Read(file.Path, text, claimed);
        read.Value = (text, claimed, content);
        return content;
    }

    private static CalibrationSet Merge(ImmutableArray<CalibrationFileContent> files)
    {
        var entries = new Dictionary<string, CalibrationEntry>(StringComparer.Ordinal);
        var contradicted = new HashSet<string>(StringComparer.Ordinal);
        var conflicts = ImmutableArray.CreateBuilder<(string, CalibrationProblem)>();
        foreach (var entry in files.SelectMany(file => file.Entries))
        {
            if (entries.TryGetValue(entry.Model, out var earlier))
            {
                contradicted.Add(entry.Model);
                conflicts.Add((entry.FilePath, new CalibrationProblem(
                    entry.ModelSpan,
                    $"model '{entry.Model}' also has an entry in '{earlier.FilePath}'; neither is used")));
                continue;
            }

            entries.Add(entry.Model, entry);
        }

        return new CalibrationSet(
            files,
            entries.Where(pair => !contradicted.Contains(pair.Key)).ToImmutableDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal),
            conflicts.ToImmutable());
    }
}
