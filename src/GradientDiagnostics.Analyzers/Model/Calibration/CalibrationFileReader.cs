using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers;

/// <summary>Something wrong with a calibration file, where it is.</summary>
internal sealed class CalibrationProblem
{
    public CalibrationProblem(TextSpan span, string message)
    {
        Span = span;
        Message = message;
    }

    public TextSpan Span { get; }

    public string Message { get; }
}

/// <summary>What one AdditionalFile holds: whether it is a calibration file at all, its usable entries and its problems.</summary>
internal sealed class CalibrationFileContent
{
    public CalibrationFileContent(string path, SourceText text, bool isCalibrationFile, ImmutableArray<CalibrationEntry> entries, ImmutableArray<CalibrationProblem> problems)
    {
        Path = path;
        Text = text;
        IsCalibrationFile = isCalibrationFile;
        Entries = entries;
        Problems = problems;
    }

    public string Path { get; }

    public SourceText Text { get; }

    /// <summary>False for a file that merely has a calibration-like name and does not declare the calibration schema.</summary>
    public bool IsCalibrationFile { get; }

    public ImmutableArray<CalibrationEntry> Entries { get; }

    public ImmutableArray<CalibrationProblem> Problems { get; }
}

/// <summary>
/// Reads a calibration file (schema <see cref="Schema"/>, docs/calibration.md) with <see cref="StrictJsonReader"/>. The
/// root is read first with the <c>models</c> array skipped (checked as JSON only), so the schema is known — wherever it
/// stands in the object — before any entry is interpreted. A file whose JSON or schema is wrong yields no entry; an entry
/// that breaks the schema (a missing field, a negative or non-finite norm, quantiles out of order) is left out alone, and
/// two entries for one model are both left out: which of them describes the model cannot be told.
/// </summary>
internal static class CalibrationFileReader
{
    public const string Schema = "gradient-diagnostics/calibration/v1";
    public const string SchemaFamily = "gradient-diagnostics/calibration/";

    private static readonly string[] Quantiles = ["p10", "p50", "p90", "p99", "max"];
    private static readonly string[] RequiredProperties = ["model", "steps", "globalNorm", "recommendedClipNorm"];

    /// <summary>
    /// Reads <paramref name="text"/>. A file <paramref name="claimed"/> by its name or its item metadata is a calibration
    /// file whatever it holds; any other is one only when it declares a <see cref="SchemaFamily"/> schema (otherwise it is
    /// someone else's JSON, and nothing about it is reported).
    /// </summary>
    public static CalibrationFileContent Read(string path, SourceText text, bool claimed)
    {
        var json = text.ToString();
        var problems = new List<CalibrationProblem>();
        var reader = new StrictJsonReader(json);
        string? schema = null;
        var schemaSpan = default(TextSpan);
        var modelsStart = -1;
        try
        {
            if (reader.IsBlank())
            {
                // An empty file (made with touch) is one the runtime fills on its next write; it holds nothing yet.
                return new CalibrationFileContent(path, text, claimed, ImmutableArray<CalibrationEntry>.Empty, ImmutableArray<CalibrationProblem>.Empty);
            }

            if (reader.PeekValue() != JsonValueKind.Object)
            {
                throw StrictJsonReader.ErrorAt(reader.Position, "the root is not a JSON object");
            }

            reader.StartObject();
            var names = new HashSet<string>(StringComparer.Ordinal);
            var first = true;
            while (reader.NextProperty(ref first, out var name, out var nameStart))
            {
                if (!names.Add(name))
                {
                    throw StrictJsonReader.ErrorAt(nameStart, $"the root object has the property \"{name}\" twice");
                }

                var valueKind = reader.PeekValue();
                var valueStart = reader.Position;
                if (name == "schema" && valueKind == JsonValueKind.String)
                {
                    schema = reader.ReadString();
                    schemaSpan = TextSpan.FromBounds(valueStart, reader.Position);
                    continue;
                }

                if (name == "models")
                {
                    modelsStart = valueStart;
                }

                reader.SkipValue();
            }

            reader.End();
        }
        catch (JsonSyntaxException exception)
        {
            var isCalibrationFile = claimed || IsOurs(schema);
            return new CalibrationFileContent(
                path,
                text,
                isCalibrationFile,
                ImmutableArray<CalibrationEntry>.Empty,
                isCalibrationFile ? ImmutableArray.Create(new CalibrationProblem(new TextSpan(exception.Position, exception.Length), exception.Message)) : ImmutableArray<CalibrationProblem>.Empty);
        }

        if (!claimed && !IsOurs(schema))
        {
            return new CalibrationFileContent(path, text, isCalibrationFile: false, ImmutableArray<CalibrationEntry>.Empty, ImmutableArray<CalibrationProblem>.Empty);
        }

        var entries = ImmutableArray<CalibrationEntry>.Empty;
        if (SchemaProblem(schema) is { } schemaProblem)
        {
            problems.Add(new CalibrationProblem(schema is null ? new TextSpan(0, Math.Min(1, json.Length)) : schemaSpan, schemaProblem));
        }
        else if (modelsStart < 0)
        {
            problems.Add(new CalibrationProblem(new TextSpan(0, Math.Min(1, json.Length)), "the root object has no \"models\" array"));
        }
        else
        {
            entries = ReadModels(new StrictJsonReader(json, modelsStart), path, problems);
        }

        return new CalibrationFileContent(path, text, isCalibrationFile: true, entries, problems.ToImmutableArray());
    }

    private static bool IsOurs(string? schema) => schema is not null && schema.StartsWith(SchemaFamily, StringComparison.Ordinal);

    private static string? SchemaProblem(string? schema) => schema switch
    {
        null => $"the root object has no \"schema\" string; a calibration file declares \"schema\": \"{Schema}\"",
        Schema => null,
        _ when IsOurs(schema) => $"its schema is '{schema}', and this version of the analyzer reads only '{Schema}'; update the GradientDiagnostics.Analyzer package",
        _ => $"its schema is '{schema}', not '{Schema}'",
    };

    private static ImmutableArray<CalibrationEntry> ReadModels(StrictJsonReader reader, string path, List<CalibrationProblem> problems)
    {
        if (reader.PeekValue() != JsonValueKind.Array)
        {
            problems.Add(new CalibrationProblem(new TextSpan(reader.Position, 1), "\"models\" is not an array"));
            return ImmutableArray<CalibrationEntry>.Empty;
        }

        var entries = new List<(CalibrationEntry Entry, int Index)>();
        reader.StartArray();
        var first = true;
        for (var index = 0; reader.NextElement(ref first); index++)
        {
            if (new EntryReader(reader, index, path).Read(problems) is { } entry)
            {
                entries.Add((entry, index));
            }
        }

        foreach (var group in entries.GroupBy(e => e.Entry.Model, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            var firstIndex = group.First().Index;
            foreach (var (duplicate, index) in group.Skip(1))
            {
                problems.Add(new CalibrationProblem(
                    duplicate.ModelSpan,
                    $"models[{index}] is a second entry for model '{group.Key}' (the first is models[{firstIndex}]); neither is used"));
            }
        }

        return entries.GroupBy(e => e.Entry.Model, StringComparer.Ordinal).Where(g => g.Count() == 1).Select(g => g.First().Entry).ToImmutableArray();
    }

    /// <summary>Reads one element of <c>models</c>; reports what is wrong with it and returns null when it cannot be used.</summary>
    private sealed class EntryReader
    {
        private readonly StrictJsonReader reader;
        private readonly int index;
        private readonly string path;
        private readonly List<(TextSpan Span, string Message)> found = [];
        private readonly Dictionary<string, double> quantiles = new(StringComparer.Ordinal);

        public EntryReader(StrictJsonReader reader, int index, string path)
        {
            this.reader = reader;
            this.index = index;
            this.path = path;
        }

        public CalibrationEntry? Read(List<CalibrationProblem> problems)
        {
            var kind = reader.PeekValue();
            var start = reader.Position;
            if (kind != JsonValueKind.Object)
            {
                reader.SkipValue();
                problems.Add(new CalibrationProblem(new TextSpan(start, 1), $"models[{index}] is not an object"));
                return null;
            }

            string? model = null;
            var modelSpan = default(TextSpan);
            long? steps = null;
            double? recommended = null;
            var names = new HashSet<string>(StringComparer.Ordinal);
            reader.StartObject();
            var first = true;
            while (reader.NextProperty(ref first, out var name, out var nameStart))
            {
                if (!names.Add(name))
                {
                    Problem(nameStart, $"has the property \"{name}\" twice");
                    reader.SkipValue();
                    continue;
                }

                switch (name)
                {
                    case "model":
                        (model, modelSpan) = ReadModelName();
                        break;
                    case "steps":
                        steps = ReadSteps();
                        break;
                    case "globalNorm":
                        ReadGlobalNorm();
                        break;
                    case "recommendedClipNorm":
                        recommended = ReadNumber("recommendedClipNorm", positive: true);
                        break;
                    default:
                        // memoryHorizon and anything a later version adds: not needed here.
                        reader.SkipValue();
                        break;
                }
            }

            foreach (var required in RequiredProperties.Where(required => !names.Contains(required)))
            {
                Problem(start, $"has no \"{required}\"");
            }

            var label = model is null ? $"models[{index}]" : $"models[{index}] (model '{model}')";
            foreach (var (span, message) in found)
            {
                problems.Add(new CalibrationProblem(span, label + " " + message + "; the entry is not used"));
            }

            return found.Count == 0
                ? new CalibrationEntry(model!, steps!.Value, quantiles["p10"], quantiles["p50"], quantiles["p90"], quantiles["p99"], quantiles["max"], recommended!.Value, path, modelSpan)
                : null;
        }

        private (string?, TextSpan) ReadModelName()
        {
            var kind = reader.PeekValue();
            var start = reader.Position;
            if (kind != JsonValueKind.String)
            {
                Mistyped("model", "a string");
                return (null, default);
            }

            var name = reader.ReadString();
            var span = TextSpan.FromBounds(start, reader.Position);
            if (string.IsNullOrWhiteSpace(name))
            {
                Problem(span.Start, "\"model\" is empty");
                return (null, default);
            }

            return (name, span);
        }

        private long? ReadSteps()
        {
            var kind = reader.PeekValue();
            var start = reader.Position;
            if (kind != JsonValueKind.Number)
            {
                Mistyped("steps", "a whole number");
                return null;
            }

            var value = reader.ReadNumber(out var isInteger);
            if (!isInteger || value < 1 || value > long.MaxValue)
            {
                Problem(start, $"\"steps\" is {Literal(start)}; expected a whole number of steps, at least 1");
                return null;
            }

            return (long)value;
        }

        private void ReadGlobalNorm()
        {
            var kind = reader.PeekValue();
            var start = reader.Position;
            if (kind != JsonValueKind.Object)
            {
                Mistyped("globalNorm", "an object");
                return;
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            reader.StartObject();
            var first = true;
            while (reader.NextProperty(ref first, out var name, out var nameStart))
            {
                if (!names.Add(name))
                {
                    Problem(nameStart, $"\"globalNorm\" has the property \"{name}\" twice");
                    reader.SkipValue();
                }
                else if (Array.IndexOf(Quantiles, name) >= 0 && ReadNumber("globalNorm." + name, positive: false) is { } value)
                {
                    quantiles[name] = value;
                }
                else if (Array.IndexOf(Quantiles, name) < 0)
                {
                    reader.SkipValue();
                }
            }

            var missing = Quantiles.Where(q => !names.Contains(q)).ToList();
            if (missing.Count > 0)
            {
                Problem(start, $"\"globalNorm\" has no {string.Join(", ", missing.Select(q => "\"" + q + "\""))}");
            }
            else if (quantiles.Count == Quantiles.Length)
            {
                for (var i = 1; i < Quantiles.Length; i++)
                {
                    if (quantiles[Quantiles[i - 1]] > quantiles[Quantiles[i]])
                    {
                        Problem(start, $"\"globalNorm\" is out of order: {Quantiles[i - 1]} {Format(quantiles[Quantiles[i - 1]])} is above {Quantiles[i]} {Format(quantiles[Quantiles[i]])}");
                        return;
                    }
                }

                if (quantiles["max"] == 0)
                {
                    Problem(start, "\"globalNorm\" has a max of 0: the run recorded no gradient");
                }
            }
        }

        private double? ReadNumber(string name, bool positive)
        {
            var kind = reader.PeekValue();
            var start = reader.Position;
            if (kind != JsonValueKind.Number)
            {
                Mistyped(name, "a number");
                return null;
            }

            var value = reader.ReadNumber(out _);
            if (double.IsInfinity(value))
            {
                Problem(start, $"\"{name}\" is {Literal(start)}, too large for a finite number");
                return null;
            }

            if (value < 0 || (positive && value == 0))
            {
                Problem(start, $"\"{name}\" is {Literal(start)}; a norm {(positive ? "threshold must be greater than 0" : "cannot be negative")}");
                return null;
            }

            return value;
        }

        private void Mistyped(string name, string expected)
        {
            var kind = reader.PeekValue();
            var start = reader.Position;
            reader.SkipValue();
            Problem(start, $"\"{name}\" is {Describe(kind)}, not {expected}");
        }

        private string Literal(int start) => reader.TextBetween(start, reader.Position);

        /// <summary>A problem from <paramref name="start"/> to where the reader stands (at least one character).</summary>
        private void Problem(int start, string message) => found.Add((TextSpan.FromBounds(start, Math.Max(start + 1, reader.Position)), message));

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.Null => "null",
            _ => kind == JsonValueKind.True ? "true" : "false",
        };

        private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
    }
}
