using GradientDiagnostics.Analyzers;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>The calibration file reader: what it accepts, what it refuses and where, and that no input makes it throw.</summary>
public class CalibrationFileReaderTests
{
    private const string Path = "/project/gradient-calibration.json";

    /// <summary>A file as GradientWatch writes it (System.Text.Json, indented), with full-precision doubles.</summary>
    private const string Written = """
        {
          "schema": "gradient-diagnostics/calibration/v1",
          "models": [
            {
              "model": "RecommendedModel",
              "steps": 600,
              "globalNorm": {
                "p10": 0.028213479,
                "p50": 0.18092,
                "p90": 0.7794112,
                "p99": 2.80001,
                "max": 4.0995417
              },
              "recommendedClipNorm": 0.779,
              "memoryHorizon": {
                "p50": 50,
                "sequenceLength": 50
              }
            },
            {
              "model": "RiskyModel",
              "steps": 600,
              "globalNorm": {
                "p10": 0.0803,
                "p50": 0.21,
                "p90": 0.37,
                "p99": 1.9,
                "max": 6.4
              },
              "recommendedClipNorm": 0.445
            }
          ]
        }

        """;

    [Fact]
    public void Reads_every_entry_of_the_file_the_runtime_writes()
    {
        var content = Read(Written);

        Assert.True(content.IsCalibrationFile);
        Assert.Empty(content.Problems);
        var recommended = Assert.Single(content.Entries, e => e.Model == "RecommendedModel");
        Assert.Equal((600L, 0.028213479, 0.18092, 0.7794112, 2.80001, 4.0995417, 0.779), (recommended.Steps, recommended.P10, recommended.P50, recommended.P90, recommended.P99, recommended.Max, recommended.RecommendedClipNorm));
        Assert.Equal("p90 of 600 measured steps, gradient-calibration.json", recommended.Provenance);
        Assert.Equal("\"RecommendedModel\"", Written.Substring(recommended.ModelSpan.Start, recommended.ModelSpan.Length));

        // 0.445 is not RiskyModel's p90 rounded (the runtime counted exploding steps above the healthy ones): no quantile is claimed.
        var risky = Assert.Single(content.Entries, e => e.Model == "RiskyModel");
        Assert.Equal("recommended from 600 measured steps, gradient-calibration.json", risky.Provenance);
    }

    [Fact]
    public void Reads_a_schema_written_after_the_models_and_skips_properties_it_does_not_know()
    {
        var content = Read("""
            {"models": [{"note": {"by": ["hand", 1, true, null]}, "model": "M", "steps": 1, "recommendedClipNorm": 1e0,
                         "globalNorm": {"max": 2, "p99": 2, "p90": 1, "p50": 0.5, "p10": 0, "p95": 1.5}}],
             "writer": {"version": "0.2.0"}, "schema": "gradient-diagnostics/calibration/v1"}
            """);

        Assert.Empty(content.Problems);
        var entry = Assert.Single(content.Entries);
        Assert.Equal(("M", 1L, 0.0, 2.0, 1.0), (entry.Model, entry.Steps, entry.P10, entry.Max, entry.RecommendedClipNorm));
    }

    [Fact]
    public void Accepts_a_byte_order_mark_and_reads_a_blank_file_as_holding_nothing_yet()
    {
        Assert.Equal(2, Read("\uFEFF" + Written).Entries.Length);

        var blank = Read(" \n\t\r\n");
        Assert.True(blank.IsCalibrationFile);
        Assert.Empty(blank.Entries);
        Assert.Empty(blank.Problems);
    }

    [Theory]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", // written by hand\n\"models\": []}", 1, 51, "comments are not allowed in JSON")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", /* note */ \"models\": []}", 1, 51, "comments are not allowed in JSON")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [],}", 1, 63, "a trailing comma before '}' is not allowed in JSON")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [{\"model\": \"M\"},]}", 1, 76, "a trailing comma before ']' is not allowed in JSON")]
    [InlineData("{'schema': 'gradient-diagnostics/calibration/v1'}", 1, 2, "expected a property name in double quotes, found a single quote (JSON strings use double quotes)")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [NaN]}", 1, 62, "expected a value, found 'N'")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [-Infinity]}", 1, 62, "expected a number")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [+1]}", 1, 62, "expected a value, found '+'")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [01]}", 1, 63, "a number cannot have a leading zero")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [1.]}", 1, 64, "expected a digit after the decimal point")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [\"a\tb\"]}", 1, 64, "a control character (U+0009) inside a string must be escaped")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [\"\\x\"]}", 1, 63, "'\\x' is not a JSON escape")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [\"\\u12\"]}", 1, 63, "'\\u' must be followed by four hexadecimal digits")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [\"open]}", 1, 62, "the string is not closed (a '\"' is missing)")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": []", 1, 62, "the text ends where ',' or '}' was expected")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": []} {}", 1, 65, "unexpected text after the end of the JSON value")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [tru]}", 1, 62, "expected a value, found 't'")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\"\n  \"models\": []}", 2, 3, "expected ',' or '}', found '\"'")]
    [InlineData("[{\"schema\": \"gradient-diagnostics/calibration/v1\"}]", 1, 1, "the root is not a JSON object")]
    [InlineData("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"schema\": \"x\", \"models\": []}", 1, 51, "the root object has the property \"schema\" twice")]
    public void Refuses_what_is_not_strict_JSON_at_the_position_of_the_problem(string json, int line, int column, string message)
    {
        var content = Read(json);

        Assert.True(content.IsCalibrationFile);
        Assert.Empty(content.Entries);
        var problem = Assert.Single(content.Problems);
        Assert.Equal(message, problem.Message);
        Assert.Equal((line, column), Position(json, problem.Span));
    }

    [Fact]
    public void Refuses_JSON_nested_deeper_than_the_limit_without_exhausting_the_stack()
    {
        var deep = "{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": " + new string('[', 100_000) + new string(']', 100_000) + "}";

        var problem = Assert.Single(Read(deep).Problems);

        Assert.Equal($"the JSON is nested more than {StrictJsonReader.MaxDepth} levels deep", problem.Message);
    }

    [Theory]
    [InlineData("\"schema\": \"gradient-diagnostics/calibration/v2\"", "its schema is 'gradient-diagnostics/calibration/v2', and this version of the analyzer reads only 'gradient-diagnostics/calibration/v1'; update the GradientDiagnostics.Analyzer package")]
    [InlineData("\"schema\": \"https://json.schemastore.org/appsettings\"", "its schema is 'https://json.schemastore.org/appsettings', not 'gradient-diagnostics/calibration/v1'")]
    [InlineData("\"version\": 1", "the root object has no \"schema\" string; a calibration file declares \"schema\": \"gradient-diagnostics/calibration/v1\"")]
    [InlineData("\"schema\": 1", "the root object has no \"schema\" string; a calibration file declares \"schema\": \"gradient-diagnostics/calibration/v1\"")]
    public void Refuses_a_file_of_another_schema_and_uses_none_of_its_entries(string schema, string message)
    {
        var content = Read("{" + schema + ", \"models\": [" + Entry("M") + "]}");

        Assert.Empty(content.Entries);
        Assert.Equal(message, Assert.Single(content.Problems).Message);
    }

    [Fact]
    public void Refuses_a_file_without_a_models_array()
    {
        Assert.Equal("the root object has no \"models\" array", Assert.Single(Read("{\"schema\": \"gradient-diagnostics/calibration/v1\"}").Problems).Message);
        Assert.Equal("\"models\" is not an array", Assert.Single(Read("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": {}}").Problems).Message);
    }

    [Theory]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": {\"p10\": -0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') \"globalNorm.p10\" is -0.1; a norm cannot be negative; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": {\"p10\": 1e999, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') \"globalNorm.p10\" is 1e999, too large for a finite number; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": \"0.3\", \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') \"globalNorm.p90\" is a string, not a number; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.1, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') \"globalNorm\" is out of order: p50 0.2 is above p90 0.1; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": {\"p10\": 0, \"p50\": 0, \"p90\": 0, \"p99\": 0, \"max\": 0}, \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') \"globalNorm\" has a max of 0: the run recorded no gradient; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4}, \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') \"globalNorm\" has no \"max\"; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": [0.1, 0.2], \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') \"globalNorm\" is an array, not an object; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0",
        "models[1] (model 'M') \"recommendedClipNorm\" is 0; a norm threshold must be greater than 0; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": null",
        "models[1] (model 'M') \"recommendedClipNorm\" is null, not a number; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}",
        "models[1] (model 'M') has no \"recommendedClipNorm\"; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": 1.5, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') \"steps\" is 1.5; expected a whole number of steps, at least 1; the entry is not used")]
    [InlineData("\"model\": \"M\", \"steps\": \"600\", \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') \"steps\" is a string, not a whole number; the entry is not used")]
    [InlineData("\"model\": \"\", \"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3",
        "models[1] \"model\" is empty; the entry is not used")]
    [InlineData("\"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3",
        "models[1] has no \"model\"; the entry is not used")]
    [InlineData("\"model\": \"M\", \"model\": \"N\", \"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3",
        "models[1] (model 'M') has the property \"model\" twice; the entry is not used")]
    public void Leaves_out_an_entry_that_breaks_the_schema_and_keeps_the_others(string entry, string message)
    {
        var content = Read("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [" + Entry("Other") + ", {" + entry + "}]}");

        Assert.Equal("Other", Assert.Single(content.Entries).Model);
        Assert.Equal(message, Assert.Single(content.Problems).Message);
    }

    [Fact]
    public void Uses_neither_of_two_entries_for_one_model_and_says_so_at_the_second()
    {
        var json = "{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [" + Entry("M") + ",\n" + Entry("Other") + ",\n" + Entry("M") + "]}";

        var content = Read(json);

        Assert.Equal("Other", Assert.Single(content.Entries).Model);
        var problem = Assert.Single(content.Problems);
        Assert.Equal("models[2] is a second entry for model 'M' (the first is models[0]); neither is used", problem.Message);
        Assert.Equal(3, Position(json, problem.Span).Line);
    }

    [Fact]
    public void Another_calibration_like_file_is_left_alone_unless_it_declares_the_calibration_schema()
    {
        const string CameraPath = "/project/camera-calibration.json";
        Assert.False(CalibrationFileReader.Read(CameraPath, SourceText.From("{\"fx\": 1200.5, \"fy\": 1199.8}"), claimed: false).IsCalibrationFile);
        Assert.False(CalibrationFileReader.Read(CameraPath, SourceText.From("not json at all"), claimed: false).IsCalibrationFile);
        Assert.False(CalibrationFileReader.Read(CameraPath, SourceText.From("{\"schema\": \"camera/v2\", \"models\": [1,]}"), claimed: false).IsCalibrationFile);

        var declared = CalibrationFileReader.Read("/runs/lstm-calibration.json", SourceText.From("{\"schema\": \"gradient-diagnostics/calibration/v1\", \"models\": [1,]}"), claimed: false);
        Assert.True(declared.IsCalibrationFile);
        Assert.Equal("a trailing comma before ']' is not allowed in JSON", Assert.Single(declared.Problems).Message);
    }

    [Fact]
    public void Every_truncation_of_a_written_file_is_refused_with_a_problem_inside_the_text_and_never_throws()
    {
        var end = Written.TrimEnd().Length;
        for (var length = 1; length < end; length++)
        {
            var json = Written.Substring(0, length);
            var content = Read(json);
            if (json.Trim().Length == 0)
            {
                continue;
            }

            var problem = Assert.Single(content.Problems);
            Assert.Empty(content.Entries);
            Assert.InRange(problem.Span.Start, 0, json.Length - 1);
            Assert.InRange(problem.Span.End, 1, json.Length);
        }
    }

    [Fact]
    public void Random_damage_to_a_written_file_never_throws_and_every_problem_lies_inside_the_text()
    {
        var random = new Random(12);
        const string Alphabet = "{}[],:\"\\/-+.eE0123456789 \n\ttrufalsn*'x\u0001\uFEFF";
        for (var round = 0; round < 3000; round++)
        {
            var chars = Written.ToCharArray().ToList();
            for (var edit = random.Next(1, 4); edit > 0; edit--)
            {
                var at = random.Next(chars.Count);
                switch (random.Next(3))
                {
                    case 0:
                        chars.RemoveAt(at);
                        break;
                    case 1:
                        chars.Insert(at, Alphabet[random.Next(Alphabet.Length)]);
                        break;
                    default:
                        chars[at] = Alphabet[random.Next(Alphabet.Length)];
                        break;
                }
            }

            var json = new string(chars.ToArray());
            var content = Read(json);
            Assert.All(content.Problems, problem => Assert.True(problem.Span.Start >= 0 && problem.Span.End <= json.Length && problem.Span.Length > 0, $"{problem.Span} outside {json.Length} chars: {problem.Message}"));
            Assert.All(content.Entries, entry => Assert.True(entry.RecommendedClipNorm > 0 && entry.P10 <= entry.Max && entry.Steps >= 1));
        }
    }

    private static CalibrationFileContent Read(string json) => CalibrationFileReader.Read(Path, SourceText.From(json), claimed: true);

    private static string Entry(string model) =>
        "{\"model\": \"" + model + "\", \"steps\": 600, \"globalNorm\": {\"p10\": 0.1, \"p50\": 0.2, \"p90\": 0.3, \"p99\": 0.4, \"max\": 0.5}, \"recommendedClipNorm\": 0.3}";

    private static (int Line, int Column) Position(string json, TextSpan span)
    {
        var position = SourceText.From(json).Lines.GetLinePosition(span.Start);
        return (position.Line + 1, position.Character + 1);
    }
}
