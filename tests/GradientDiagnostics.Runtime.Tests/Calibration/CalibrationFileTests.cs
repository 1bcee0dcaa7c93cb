using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GradientDiagnostics.Calibration;

namespace GradientDiagnostics.Runtime.Tests.Calibration;

/// <summary>The calibration file itself: the v1 schema, merging with other models' entries, atomic replacement, refusals.</summary>
public sealed class CalibrationFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("gd-calibration-file-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void A_new_file_has_exactly_the_v1_schema()
    {
        var path = Path.Combine(folder, "gradient-calibration.json");

        CalibrationFile.Write(path, Entry("RecommendedModel", p90: 0.37));

        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.Equal(new[] { "schema", "models" }, root.Select(p => p.Key));
        Assert.Equal("gradient-diagnostics/calibration/v1", (string?)root["schema"]);
        var entry = Assert.Single(root["models"]!.AsArray())!.AsObject();
        Assert.Equal(new[] { "model", "steps", "globalNorm", "recommendedClipNorm" }, entry.Select(p => p.Key));
        Assert.Equal("RecommendedModel", (string?)entry["model"]);
        Assert.Equal(1200, (long)entry["steps"]!);
        Assert.Equal(new[] { "p10", "p50", "p90", "p99", "max" }, entry["globalNorm"]!.AsObject().Select(p => p.Key));
        Assert.Equal(0.37, (double)entry["globalNorm"]!["p90"]!);
        Assert.Equal(0.37, (double)entry["recommendedClipNorm"]!);
        Assert.Empty(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void The_memory_horizon_block_follows_the_recommendation_when_profiles_were_recorded()
    {
        var path = Path.Combine(folder, "gradient-calibration.json");

        CalibrationFile.Write(path, Entry("RecommendedModel", p90: 0.37, new MemoryHorizonMedian(31, 80)));

        var entry = JsonNode.Parse(File.ReadAllText(path))!["models"]![0]!.AsObject();
        Assert.Equal(new[] { "model", "steps", "globalNorm", "recommendedClipNorm", "memoryHorizon" }, entry.Select(p => p.Key));
        Assert.Equal(new[] { "p50", "sequenceLength" }, entry["memoryHorizon"]!.AsObject().Select(p => p.Key));
        Assert.Equal((31, 80), ((int)entry["memoryHorizon"]!["p50"]!, (int)entry["memoryHorizon"]!["sequenceLength"]!));
    }

    [Fact]
    public void Numbers_are_written_invariantly_and_read_back_exactly_under_any_culture()
    {
        var path = Path.Combine(folder, "culture.json");
        var culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            CalibrationFile.Write(path, new CalibrationEntry("M", 3, new NormQuantiles(1.5e-12, 0.123456789012345, 1234.5, 6.02e23, 1.7976931348623157e308), 0.125, null));
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }

        var text = File.ReadAllText(path);
        Assert.Contains("\"p50\": 0.123456789012345", text, StringComparison.Ordinal);
        Assert.Contains("\"p10\": 1.5E-12", text, StringComparison.Ordinal);
        var norms = JsonNode.Parse(text)!["models"]![0]!["globalNorm"]!;
        Assert.Equal(1.7976931348623157e308, (double)norms["max"]!);
        Assert.Equal(6.02e23, (double)norms["p99"]!);
    }

    [Fact]
    public void Writing_a_model_replaces_its_entry_in_place_and_keeps_every_other_entry_as_it_was()
    {
        var path = Path.Combine(folder, "gradient-calibration.json");
        File.WriteAllText(path, """
            { "schema": "gradient-diagnostics/calibration/v1",
              "models": [ { "model": "Encoder", "steps": 10, "globalNorm": { "p10": 1, "p50": 2, "p90": 3, "p99": 4, "max": 5 }, "recommendedClipNorm": 3,
                            "memoryHorizon": { "p50": 31, "sequenceLength": 80 } },
                          { "model": "Decoder", "steps": 7, "globalNorm": { "p10": 1, "p50": 1, "p90": 1, "p99": 1, "max": 1 }, "recommendedClipNorm": 1 },
                          { "model": "Critic", "steps": 1, "note": "written by a later version", "globalNorm": { "p10": 9, "p50": 9, "p90": 9, "p99": 9, "max": 9 }, "recommendedClipNorm": 9 } ],
              "producer": "another tool" }
            """);

        CalibrationFile.Write(path, Entry("Decoder", p90: 0.5));

        var root = JsonNode.Parse(File.ReadAllText(path))!;
        var models = root["models"]!.AsArray();
        Assert.Equal(new[] { "Encoder", "Decoder", "Critic" }, models.Select(m => (string?)m!["model"]));
        Assert.Equal(0.5, (double)models[1]!["recommendedClipNorm"]!);
        Assert.Equal(1200, (long)models[1]!["steps"]!);
        Assert.Equal(31, (int)models[0]!["memoryHorizon"]!["p50"]!);
        Assert.Equal("written by a later version", (string?)models[2]!["note"]);
        Assert.Equal("another tool", (string?)root["producer"]);
    }

    [Fact]
    public void Writers_in_one_process_never_lose_each_others_entries()
    {
        var path = Path.Combine(folder, "shared.json");

        Parallel.For(0, 8, model =>
        {
            for (var round = 0; round < 10; round++)
            {
                CalibrationFile.Write(path, Entry($"model-{model}", p90: round + 1));
            }
        });

        var models = JsonNode.Parse(File.ReadAllText(path))!["models"]!.AsArray();
        Assert.Equal(Enumerable.Range(0, 8).Select(m => $"model-{m}").Order(), models.Select(m => (string)m!["model"]!).Order());
        Assert.All(models, m => Assert.Equal(10, (double)m!["recommendedClipNorm"]!));
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
    }

    [Fact]
    public void An_empty_existing_file_is_filled()
    {
        var path = Path.Combine(folder, "touched.json");
        File.WriteAllText(path, "  \n");

        CalibrationFile.Write(path, Entry("M", p90: 2));

        Assert.Equal("M", (string?)JsonNode.Parse(File.ReadAllText(path))!["models"]![0]!["model"]);
    }

    [Theory]
    [InlineData("{ \"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [ ", "it is not valid JSON")]
    [InlineData("[1, 2]", "its root is not a JSON object")]
    [InlineData("{ \"models\": [] }", "it has no \"schema\" string")]
    [InlineData("{ \"schema\": \"gradient-diagnostics/calibration/v2\", \"models\": [] }", "its schema is 'gradient-diagnostics/calibration/v2'")]
    [InlineData("{ \"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": {} }", "it has no \"models\" array")]
    [InlineData("{ \"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [ { \"model\": \"A\" }, { \"steps\": 3 } ] }", "models[1] is not an object with a \"model\" string")]
    public void A_file_that_is_not_a_v1_calibration_file_is_refused_by_name_and_left_unchanged(string content, string problem)
    {
        var path = Path.Combine(folder, "gradient-calibration.json");
        File.WriteAllText(path, content);

        var error = Assert.Throws<InvalidDataException>(() => CalibrationFile.Write(path, Entry("M", p90: 1)));

        Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains("left unchanged", error.Message, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(folder));
    }

    [Fact]
    public void A_folder_as_path_is_refused_by_name()
    {
        var error = Assert.Throws<ArgumentException>(() => CalibrationFile.Write(folder, Entry("M", p90: 1)));

        Assert.Equal("path", error.ParamName);
        Assert.Contains("is a folder", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_path_inside_a_file_fails_with_an_IO_error_and_leaves_nothing_behind()
    {
        var blocker = Path.Combine(folder, "not-a-folder");
        File.WriteAllText(blocker, "x");

        Assert.ThrowsAny<IOException>(() => CalibrationFile.Write(Path.Combine(blocker, "gradient-calibration.json"), Entry("M", p90: 1)));

        Assert.Equal(new[] { blocker }, Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void Missing_folders_are_created()
    {
        var path = Path.Combine(folder, "runs", "today", "gradient-calibration.json");

        CalibrationFile.Write(path, Entry("M", p90: 1));

        Assert.True(File.Exists(path));
    }

    internal static CalibrationEntry Entry(string model, double p90, MemoryHorizonMedian? horizon = null) =>
        new(model, 1200, new NormQuantiles(p90 / 4, p90 / 2, p90, p90 * 5, p90 * 17), p90, horizon);
}
