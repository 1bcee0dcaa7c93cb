using System.Globalization;

namespace GradientDiagnostics.Testing;

/// <summary>One model's measurements, as a calibration file entry holds them.</summary>
public sealed record CalibrationFileEntry(string Model, long Steps, double P10, double P50, double P90, double P99, double Max, double RecommendedClipNorm);

/// <summary>Calibration files (schema v1) laid out the way the runtime writes them (indented, schema first).</summary>
public static class CalibrationFiles
{
    public const string Name = "gradient-calibration.json";

    /// <summary>The path the analyzer tests give a calibration file among the AdditionalFiles.</summary>
    public const string Path = "/0/" + Name;

    /// <summary>
    /// The healthy LSTM of docs/runtime.md ("Runs behind the recommendation"): p10 0.0282 … max 4.1, recommended 0.779
    /// (its p90), 600 steps.
    /// </summary>
    public static CalibrationFileEntry HealthyLstm(string model) => new(model, 600, 0.0282, 0.181, 0.779, 2.8, 4.1, 0.779);

    public static string Json(params CalibrationFileEntry[] entries) =>
        "{\n  \"schema\": \"gradient-diagnostics/calibration/v1\",\n  \"models\": [" + string.Join(",", entries.Select(Entry)) + (entries.Length > 0 ? "\n  " : "") + "]\n}\n";

    private static string Entry(CalibrationFileEntry entry) => string.Create(CultureInfo.InvariantCulture, $$"""

            {
              "model": "{{entry.Model}}",
              "steps": {{entry.Steps}},
              "globalNorm": {
                "p10": {{entry.P10:R}},
                "p50": {{entry.P50:R}},
                "p90": {{entry.P90:R}},
                "p99": {{entry.P99:R}},
                "max": {{entry.Max:R}}
              },
              "recommendedClipNorm": {{entry.RecommendedClipNorm:R}},
              "memoryHorizon": {
                "p50": 50,
                "sequenceLength": 50
              }
            }
        """);
}
