using System.Collections.Immutable;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Diagnostics.Telemetry;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>
/// A compilation that does not reference TorchSharp costs nothing: every analyzer registers its compilation-start
/// action and, finding no TorchSharp, nothing else. Checked with Roslyn's own action counts.
/// </summary>
public class RegistrationTests
{
    private const string LookAlikeCode = """
        using System;
        using System.Collections.Generic;

        namespace NotTorch;

        public sealed class Tensor { public void backward(bool retain_graph = false) { } public Tensor detach() => this; }
        public sealed class LSTM { public (Tensor, Tensor) call(Tensor x, Tensor? h) => (x, x); }
        public sealed class Optimizer { public void step() { } public void zero_grad() { } }

        public static class Trainer
        {
            public static void Train()
            {
                var lstm = new LSTM();
                var optimizer = new Optimizer();
                Tensor? hidden = null;
                for (var i = 0; i < 10; i++)
                {
                    var (output, h) = lstm.call(new Tensor(), hidden);
                    hidden = h;
                    output.backward(retain_graph: true);
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task Without_TorchSharp_every_analyzer_registers_only_its_compilation_start_action()
    {
        var compilation = CSharpCompilation.Create(
            "NoTorch",
            [CSharpSyntaxTree.ParseText(LookAlikeCode, TrainingCodebase.ParseOptions), .. TrainingCodebase.Parse(TrainingCodebase.Generate(1)).Where(t => t.FilePath.Contains("Utilities", StringComparison.Ordinal)).Select(StripTorchSharp)],
            TrainingCodebase.PlatformReferences(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

        foreach (var (analyzer, info) in await TelemetryAsync(compilation))
        {
            Assert.True(info.CompilationStartActionsCount == 1, $"{analyzer} registered {info.CompilationStartActionsCount} compilation-start actions");
            Assert.True(OtherActions(info) == 0, $"{analyzer} registered {OtherActions(info)} actions in a compilation without TorchSharp");
        }
    }

    [Fact]
    public async Task With_TorchSharp_and_a_calibration_file_the_rules_register_their_actions()
    {
        var compilation = TrainingCodebase.Compile("WithTorch", TrainingCodebase.Parse(TrainingCodebase.Generate(1)));
        var calibration = new CalibrationText(CalibrationFiles.Json(CalibrationFiles.HealthyLstm("SequenceModel0")));
        var telemetry = await TelemetryAsync(compilation, calibration);
        Assert.All(telemetry, t => Assert.True(OtherActions(t.Info) > 0, $"{t.Analyzer} registered nothing for a TorchSharp compilation"));
    }

    [Fact]
    public async Task Without_a_calibration_file_GD0011_registers_nothing_beyond_its_compilation_start()
    {
        var compilation = TrainingCodebase.Compile("WithTorch", TrainingCodebase.Parse(TrainingCodebase.Generate(1)));
        var (_, info) = Assert.Single(await TelemetryAsync(compilation), t => t.Analyzer == nameof(ClipThresholdOutsideMeasuredNormsAnalyzer));
        Assert.Equal(0, OtherActions(info));
    }

    private static async Task<List<(string Analyzer, AnalyzerTelemetryInfo Info)>> TelemetryAsync(Compilation compilation, params AdditionalText[] additionalFiles)
    {
        var analyzers = AnalyzerCatalog.CreateAnalyzers();
        var failures = new List<string>();
        var withAnalyzers = compilation.WithAnalyzers(
            analyzers,
            new CompilationWithAnalyzersOptions(new AnalyzerOptions([.. additionalFiles]), (exception, analyzer, _) => failures.Add($"{analyzer}: {exception}"), concurrentAnalysis: false, logAnalyzerExecutionTime: true));
        await withAnalyzers.GetAnalyzerDiagnosticsAsync();
        Assert.Empty(failures);

        var telemetry = new List<(string, AnalyzerTelemetryInfo)>();
        foreach (var analyzer in analyzers)
        {
            telemetry.Add((analyzer.GetType().Name, await withAnalyzers.GetAnalyzerTelemetryInfoAsync(analyzer, CancellationToken.None)));
        }

        return telemetry;
    }

    private static int OtherActions(AnalyzerTelemetryInfo info) =>
        info.CompilationEndActionsCount + info.CompilationActionsCount + info.SyntaxTreeActionsCount + info.AdditionalFileActionsCount
        + info.SemanticModelActionsCount + info.SymbolActionsCount + info.SymbolStartActionsCount + info.SymbolEndActionsCount
        + info.SyntaxNodeActionsCount + info.CodeBlockStartActionsCount + info.CodeBlockEndActionsCount + info.CodeBlockActionsCount
        + info.OperationActionsCount + info.OperationBlockStartActionsCount + info.OperationBlockEndActionsCount + info.OperationBlockActionsCount
        + info.SuppressionActionsCount;

    /// <summary>The generated utilities minus their TorchSharp helpers: plain C# that a non-ML project in the same solution would hold.</summary>
    private static SyntaxTree StripTorchSharp(SyntaxTree tree)
    {
        var root = (Microsoft.CodeAnalysis.CSharp.Syntax.CompilationUnitSyntax)tree.GetRoot();
        var torchFree = root
            .RemoveNodes(root.DescendantNodes().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax>().Where(c => c.Identifier.Text.StartsWith("GradientTools", StringComparison.Ordinal) || c.Identifier.Text.StartsWith("StateTools", StringComparison.Ordinal)), SyntaxRemoveOptions.KeepNoTrivia)!;
        torchFree = torchFree.WithUsings([.. torchFree.Usings.Where(u => !u.ToString().Contains("TorchSharp", StringComparison.Ordinal))]);
        return tree.WithRootAndOptions(torchFree, tree.Options);
    }

    private sealed class CalibrationText(string json) : AdditionalText
    {
        public override string Path => CalibrationFiles.Path;

        public override Microsoft.CodeAnalysis.Text.SourceText GetText(CancellationToken cancellationToken = default) => Microsoft.CodeAnalysis.Text.SourceText.From(json);
    }
}
