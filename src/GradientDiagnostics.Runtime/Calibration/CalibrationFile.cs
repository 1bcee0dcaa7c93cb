using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GradientDiagnostics.Calibration;

/// <summary>
/// Reads, merges and atomically writes the calibration file (schema <see cref="Schema"/>; docs/calibration.md).
/// </summary>
/// <remarks>
/// The entry of the model being written replaces the entry with the same <c>model</c> name (ordinal comparison) where it
/// stands; every other entry, and any property this version does not know, is kept as it was. The new content goes to a
/// temporary file in the same folder, flushed to disk, which is then renamed over the old file: a reader sees the old
/// file or the new one, never half of one. Writers in one process are serialised per file; two processes writing the
/// same file at the same moment can lose one of their entries (the file stays valid).
/// </remarks>
internal static class CalibrationFile
{
    public const string Schema = "gradient-diagnostics/calibration/v1";

    private static readonly ConcurrentDictionary<string, object> Writers = new(StringComparer.Ordinal);

    /// <summary>Writes <paramref name="entry"/> into the file at <paramref name="path"/>, keeping the other models' entries; returns the full path.</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty, or names a folder.</exception>
    /// <exception cref="InvalidDataException">The existing file is not a v1 calibration file; it is left unchanged.</exception>
    /// <exception cref="IOException">The file or its folder cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to write the file or its folder.</exception>
    public static string Write(string path, CalibrationEntry entry)
    {
        var fullPath = FullFilePath(path);
        var folder = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(folder);
        lock (Writers.GetOrAdd(fullPath, _ => new object()))
        {
            var root = File.Exists(fullPath) ? Read(fullPath) : new JsonObject { ["schema"] = Schema, ["models"] = new JsonArray() };
            Merge((JsonArray)root["models"]!, entry);
            Replace(fullPath, folder, root);
        }

        return fullPath;
    }

    /// <summary>The full path of the calibration file <paramref name="path"/> names.</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty, or names a folder.</exception>
    public static string FullFilePath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
        {
            throw new ArgumentException($"The calibration path '{fullPath}' is a folder; give a file path such as '{Path.Combine(fullPath, "gradient-calibration.json")}'.", nameof(path));
        }

        return fullPath;
    }

    /// <summary>The JSON of one entry, as the v1 schema spells it.</summary>
    public static JsonObject ToJson(CalibrationEntry entry)
    {
        var json = new JsonObject
        {
            ["model"] = entry.Model,
            ["steps"] = entry.Steps,
            ["globalNorm"] = new JsonObject
            {
                ["p10"] = entry.GlobalNorm.P10,
                ["p50"] = entry.GlobalNorm.P50,
                ["p90"] = entry.GlobalNorm.P90,
                ["p99"] = entry.GlobalNorm.P99,
                ["max"] = entry.GlobalNorm.Max,
            },
            ["recommendedClipNorm"] = entry.RecommendedClipNorm,
        };
        if (entry.MemoryHorizon is { } horizon)
        {
            json["memoryHorizon"] = new JsonObject { ["p50"] = horizon.P50, ["sequenceLength"] = horizon.SequenceLength };
        }

        return json;
    }

    private static JsonObject Read(string fullPath)
    {
        var text = File.ReadAllText(fullPath);
        if (string.IsNullOrWhiteSpace(text))
        {
            // An empty file (e.g. created with touch) holds nothing that could be lost.
            return new JsonObject { ["schema"] = Schema, ["models"] = new JsonArray() };
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException exception)
        {
            throw Malformed(fullPath, $"it is not valid JSON ({exception.Message})", exception);
        }

        if (node is not JsonObject root)
        {
            throw Malformed(fullPath, "its root is not a JSON object", null);
        }

        var schema = root["schema"] is JsonValue value && value.TryGetValue<string>(out var declared) ? declared : null;
        if (schema != Schema)
        {
            throw Malformed(fullPath, schema is null ? "it has no \"schema\" string" : $"its schema is '{schema}'", null);
        }

        if (root["models"] is not JsonArray models)
        {
            throw Malformed(fullPath, "it has no \"models\" array", null);
        }

        for (var i = 0; i < models.Count; i++)
        {
            if (models[i] is not JsonObject model || model["model"] is not JsonValue name || !name.TryGetValue<string>(out _))
            {
                throw Malformed(fullPath, $"models[{i}] is not an object with a \"model\" string", null);
            }
        }

        return root;
    }

    private static InvalidDataException Malformed(string fullPath, string problem, Exception? inner) =>
        new($"The calibration file '{fullPath}' is not a {Schema} file: {problem}. It was left unchanged; fix or delete it, or write the calibration to another path.", inner);

    private static void Merge(JsonArray models, CalibrationEntry entry)
    {
        var json = ToJson(entry);
        for (var i = 0; i < models.Count; i++)
        {
            if ((string?)models[i]!["model"] == entry.Model)
            {
                models[i] = json;
                for (var later = models.Count - 1; later > i; later--)
                {
                    if ((string?)models[later]!["model"] == entry.Model)
                    {
                        models.RemoveAt(later);
                    }
                }

                return;
            }
        }

        models.Add(json);
    }

    private static void Replace(string fullPath, string folder, JsonObject root)
    {
        var temporary = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    root.WriteTo(writer);
                }

                stream.WriteByte((byte)'\n');
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
