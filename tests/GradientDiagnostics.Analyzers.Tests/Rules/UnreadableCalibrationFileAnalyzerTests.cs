using GradientDiagnostics.Testing;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using Microsoft.CodeAnalysis.Text;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.UnreadableCalibrationFileAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

/// <summary>
/// GD1001: a calibration file that cannot be read is reported in the file, at the problem, naming the file and the
/// problem — and never crashes an analyzer (the testing library fails on AD0001). Other JSON files are left alone.
/// </summary>
public class UnreadableCalibrationFileAnalyzerTests
{
    private const string Source = "using TorchSharp;\nclass C { }\n";

    private static Task VerifyAsync(IEnumerable<(string Path, string Text)> files, params DiagnosticResult[] expected)
    {
        var test = new Verify.Test { TestCode = Source };
        foreach (var file in files)
        {
            test.TestState.AdditionalFiles.Add(file);
        }

        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    private static DiagnosticResult Unreadable(string path, int line, int column, string problem) =>
        Verify.Diagnostic("GD1001").WithSpan(path, line, column, line, column + 1).WithArguments(System.IO.Path.GetFileName(path), $"line {line}, column {column}: {problem}");

    [Fact]
    public async Task Reports_invalid_JSON_at_its_line_and_column()
    {
        var json = CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Seq2One")).Replace("\"steps\": 600,", "\"steps\": 600,,", StringComparison.Ordinal);
        var (line, column) = Position(json, ",,");

        await VerifyAsync([(CalibrationFiles.Path, json)], Unreadable(CalibrationFiles.Path, line, column + 1, "expected a property name in double quotes, found ','"));
    }

    [Fact]
    public async Task Reports_another_schema_version()
    {
        var json = CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Seq2One")).Replace("/v1", "/v2", StringComparison.Ordinal);

        var result = await Diagnose([(CalibrationFiles.Path, json)]);

        var diagnostic = Assert.Single(result);
        Assert.Equal("GD1001", diagnostic.Id);
        Assert.Equal(CalibrationFiles.Path, diagnostic.Location.GetLineSpan().Path);
        Assert.Contains("'gradient-calibration.json' cannot be read", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("its schema is 'gradient-diagnostics/calibration/v2'", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reports_an_entry_that_breaks_the_schema_once_and_nothing_about_the_healthy_one()
    {
        var json = CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Seq2One"), CalibrationFiles.HealthyLstm("Broken") with { RecommendedClipNorm = -1 });

        var diagnostic = Assert.Single(await Diagnose([(CalibrationFiles.Path, json)]));

        Assert.Contains("models[1] (model 'Broken') \"recommendedClipNorm\" is -1", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reports_a_model_with_entries_in_two_files_in_the_second()
    {
        const string Second = "/0/runs/lstm-calibration.json";
        var entry = CalibrationFiles.HealthyLstm("Seq2One");

        var diagnostic = Assert.Single(await Diagnose([(CalibrationFiles.Path, CalibrationFiles.Json(entry)), (Second, CalibrationFiles.Json(entry))]));

        Assert.Equal(Second, diagnostic.Location.GetLineSpan().Path);
        Assert.Contains($"model 'Seq2One' also has an entry in '{CalibrationFiles.Path}'; neither is used", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leaves_other_JSON_files_and_a_valid_calibration_file_alone()
    {
        await VerifyAsync(
        [
            (CalibrationFiles.Path, CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Seq2One"))),
            ("/0/camera-calibration.json", "{\"fx\": 1200.5,}"),
            ("/0/appsettings.json", "not json"),
        ]);
    }

    [Fact]
    public async Task Is_silent_without_TorchSharp()
    {
        var test = new Microsoft.CodeAnalysis.CSharp.Testing.CSharpAnalyzerTest<UnreadableCalibrationFileAnalyzer, DefaultVerifier>
        {
            TestCode = "class C { }\n",
            ReferenceAssemblies = TorchSharpReferences.Net80,
        };
        test.TestState.AdditionalFiles.Add((CalibrationFiles.Path, "{"));
        await test.RunAsync();
    }

    /// <summary>Runs the analyzer over a real compilation with these AdditionalFiles; the messages are then checked piecewise.</summary>
    private static async Task<IReadOnlyList<Diagnostic>> Diagnose(IEnumerable<(string Path, string Text)> files)
    {
        var compilation = TrainingCodebase.Compile("Calibrated", TrainingCodebase.Parse([("/0/C.cs", Source)]));
        var additional = files.Select(file => (AdditionalText)new InMemoryAdditionalText(file.Path, file.Text)).ToImmutableArray();
        var diagnostics = await compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new UnreadableCalibrationFileAnalyzer()), new AnalyzerOptions(additional))
            .GetAllDiagnosticsAsync();
        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001");
        return diagnostics.Where(d => d.Id.StartsWith("GD", StringComparison.Ordinal)).ToList();
    }

    private static (int Line, int Column) Position(string text, string fragment)
    {
        var before = text[..text.IndexOf(fragment, StringComparison.Ordinal)];
        return (before.Count(c => c == '\n') + 1, before.Length - before.LastIndexOf('\n'));
    }

    private sealed class InMemoryAdditionalText(string path, string text) : AdditionalText
    {
        public override string Path => path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }
}
