using System.Text;
using System.Text.Json;

namespace GradientDiagnostics.Reporting;

/// <summary>
/// The JSON block that report.js draws the charts from. Non-finite and non-positive values become null
/// (JSON has no NaN, and log scales have no zero); the anomaly table carries the non-finite cases.
/// The default encoder escapes '&lt;' and '&gt;', so the JSON can sit inside a script element.
/// </summary>
internal static class ReportData
{
    public static string Build(IReadOnlyList<GradientReportRun> runs, GradientReportOptions options)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("runs");
            for (var i = 0; i < runs.Count; i++)
            {
                WriteRun(json, GradientHtmlReport.RunId(i), runs[i], options);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteRun(Utf8JsonWriter json, string id, GradientReportRun run, GradientReportOptions options)
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("name", run.Name);
        if (run.ClipThreshold is { } threshold && double.IsFinite(threshold))
        {
            json.WriteNumber("clipThreshold", threshold);
        }
        else
        {
            json.WriteNull("clipThreshold");
        }

        json.WriteStartArray("steps");
        foreach (var step in run.Steps)
        {
            json.WriteNumberValue(step.Step);
        }

        json.WriteEndArray();
        WritePositiveArray(json, "globalNorms", run.Steps.Select(s => s.GlobalNorm));
        WriteLosses(json, run);
        WriteAnomalyMarkers(json, run);
        WriteHeatmaps(json, run, options);
        WriteHorizon(json, run);
        WriteParameters(json, run, options);
        json.WriteEndObject();
    }

    private static void WriteLosses(Utf8JsonWriter json, GradientReportRun run)
    {
        if (run.Losses is not { Count: > 0 } losses)
        {
            json.WriteNull("losses");
            return;
        }

        var ordered = losses.OrderBy(pair => pair.Key).ToArray();
        json.WriteStartObject("losses");
        json.WriteStartArray("steps");
        foreach (var pair in ordered)
        {
            json.WriteNumberValue(pair.Key);
        }

        json.WriteEndArray();
        WriteFiniteArray(json, "values", ordered.Select(pair => pair.Value));
        json.WriteEndObject();
    }

    private static void WriteAnomalyMarkers(Utf8JsonWriter json, GradientReportRun run)
    {
        // One marker per step with anomalies, placed on the global-norm curve.
        var flagged = run.Steps.Where(s => s.Anomalies.Count > 0).ToArray();
        json.WriteStartObject("anomalies");
        json.WriteStartArray("steps");
        foreach (var step in flagged)
        {
            json.WriteNumberValue(step.Step);
        }

        json.WriteEndArray();
        WritePositiveArray(json, "globalNorms", flagged.Select(s => s.GlobalNorm));
        json.WriteStartArray("labels");
        foreach (var step in flagged)
        {
            json.WriteStringValue(string.Join("; ", step.Anomalies.Select(a => GradientHtmlReport.KindName(a.Kind) + ": " + a.Message)));
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteHeatmaps(Utf8JsonWriter json, GradientReportRun run, GradientReportOptions options)
    {
        var rows = SampleRows(run.Steps.Count, options.MaxHeatmapRows);
        json.WriteStartArray("heatmaps");
        foreach (var module in ProfileKeys(run))
        {
            var profiles = rows.Select(r => (Step: run.Steps[r].Step, Norms: ProfileOf(run.Steps[r], module)?.Norms)).ToArray();
            var width = profiles.Max(p => p.Norms?.Length ?? 0);
            if (width == 0)
            {
                continue;
            }

            json.WriteStartObject();
            json.WriteString("module", module.Label);
            json.WriteNumber("timesteps", width);
            json.WriteNumber("totalSteps", run.Steps.Count);
            json.WriteStartArray("steps");
            foreach (var profile in profiles)
            {
                json.WriteNumberValue(profile.Step);
            }

            json.WriteEndArray();
            WriteLog10Rows(json, "log10", profiles.Select(p => p.Norms), width, _ => 1.0);

            // Relative to the end of the sequence (the mean over its last tenth, the memory horizon's reference), so runs
            // whose gradients differ by many orders of magnitude still compare on one scale.
            WriteLog10Rows(json, "relative", profiles.Select(p => p.Norms), width, EndReference);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteLog10Rows(Utf8JsonWriter json, string name, IEnumerable<double[]?> rows, int width, Func<double[], double> reference)
    {
        json.WriteStartArray(name);
        foreach (var norms in rows)
        {
            var scale = norms is null ? double.NaN : reference(norms);
            json.WriteStartArray();
            for (var t = 0; t < width; t++)
            {
                var value = norms is not null && t < norms.Length ? norms[t] / scale : double.NaN;
                if (value > 0 && double.IsFinite(value))
                {
                    json.WriteNumberValue(Math.Round(Math.Log10(value), 3));
                }
                else
                {
                    json.WriteNullValue();
                }
            }

            json.WriteEndArray();
        }

        json.WriteEndArray();
    }

    private static double EndReference(double[] norms) => norms.TakeLast(Math.Max(1, norms.Length / 10)).Average();

    /// <summary>The course of the memory horizon and per-step gain of each step's first profile (null where it is not finite).</summary>
    private static void WriteHorizon(Utf8JsonWriter json, GradientReportRun run)
    {
        var first = run.Steps.Select(s => s.Timesteps.Count > 0 ? s.Timesteps[0] : null).ToArray();
        var finite = first.Select(p => p is not null && p.Norms.Length > 0 && p.Norms.All(double.IsFinite) ? p : null).ToArray();
        if (finite.All(p => p is null))
        {
            json.WriteNull("horizon");
            return;
        }

        json.WriteStartObject("horizon");
        json.WriteString("module", finite.Last(p => p is not null)!.Module);
        json.WriteNumber("sequenceLength", finite.Max(p => p?.Norms.Length ?? 0));
        json.WriteStartArray("values");
        foreach (var profile in finite)
        {
            if (profile is null)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteNumberValue(profile.MemoryHorizon);
            }
        }

        json.WriteEndArray();
        WriteFiniteArray(json, "gains", finite.Select(p => p?.PerStepGain ?? double.NaN));
        json.WriteEndObject();
    }

    private static void WriteParameters(Utf8JsonWriter json, GradientReportRun run, GradientReportOptions options)
    {
        var names = run.Steps.SelectMany(s => s.ParameterNorms.Keys).Distinct(StringComparer.Ordinal).ToArray();
        var largest = names
            .Select(name => (Name: name, Peak: run.Steps.Max(s => s.ParameterNorms.TryGetValue(name, out var n) && double.IsFinite(n) ? n : 0)))
            .OrderByDescending(p => p.Peak)
            .Take(options.MaxParameterTraces)
            .Select(p => p.Name)
            .ToHashSet(StringComparer.Ordinal);

        json.WriteStartArray("parameters");
        foreach (var name in names.Where(largest.Contains))
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            WritePositiveArray(json, "norms", run.Steps.Select(s => s.ParameterNorms.TryGetValue(name, out var n) ? n : double.NaN));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("omittedParameters", names.Length - largest.Count);
    }

    /// <summary>The distinct profiles of a run: a module called twice in one step gets a second key.</summary>
    private static List<ProfileKey> ProfileKeys(GradientReportRun run)
    {
        var seen = new List<ProfileKey>();
        foreach (var step in run.Steps)
        {
            var calls = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var profile in step.Timesteps)
            {
                calls[profile.Module] = calls.TryGetValue(profile.Module, out var c) ? c + 1 : 1;
                var key = new ProfileKey(profile.Module, calls[profile.Module]);
                if (!seen.Contains(key))
                {
                    seen.Add(key);
                }
            }
        }

        return seen;
    }

    private static TimestepProfile? ProfileOf(GradientStepReport step, ProfileKey key) =>
        step.Timesteps.Where(p => p.Module == key.Module).Skip(key.Call - 1).FirstOrDefault();

    internal static int[] SampleRows(int count, int max)
    {
        if (count <= max)
        {
            return Enumerable.Range(0, count).ToArray();
        }

        return Enumerable.Range(0, max)
            .Select(i => (int)Math.Round(i * (count - 1) / (double)(max - 1)))
            .Distinct()
            .ToArray();
    }

    private static void WritePositiveArray(Utf8JsonWriter json, string name, IEnumerable<double> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            if (value > 0 && double.IsFinite(value))
            {
                json.WriteNumberValue(value);
            }
            else
            {
                json.WriteNullValue();
            }
        }

        json.WriteEndArray();
    }

    private static void WriteFiniteArray(Utf8JsonWriter json, string name, IEnumerable<double> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            if (double.IsFinite(value))
            {
                json.WriteNumberValue(value);
            }
            else
            {
                json.WriteNullValue();
            }
        }

        json.WriteEndArray();
    }

    private readonly record struct ProfileKey(string Module, int Call)
    {
        public string Label => Call == 1 ? Module : $"{Module} (call {Call})";
    }
}
