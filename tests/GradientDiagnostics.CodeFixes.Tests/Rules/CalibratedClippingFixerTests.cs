using System.Collections.Immutable;
using GradientDiagnostics.Analyzers;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using Microsoft.CodeAnalysis.Text;
using ClipFix = GradientDiagnostics.Testing.TorchSharpCodeFixVerifier<GradientDiagnostics.Analyzers.MissingGradientClippingAnalyzer, GradientDiagnostics.CodeFixes.MissingGradientClippingFixer>;
using ThresholdFix = GradientDiagnostics.Testing.TorchSharpCodeFixVerifier<GradientDiagnostics.Analyzers.ClipThresholdOutsideMeasuredNormsAnalyzer, GradientDiagnostics.CodeFixes.ClipThresholdOutsideMeasuredNormsFixer>;

namespace GradientDiagnostics.CodeFixes.Tests.Rules;

/// <summary>
/// The fixes that read a calibration file: GD0001 writes the model's measured threshold (or the configured default when
/// the file has no usable entry for it) and, where GradientDiagnostics.Runtime is referenced, offers an
/// AdaptiveGradientClipper; GD0011 replaces a threshold outside the measured norms with the measured one.
/// </summary>
public class CalibratedClippingFixerTests
{
    private static readonly MetadataReference Runtime = MetadataReference.CreateFromFile(typeof(AdaptiveGradientClipper).Assembly.Location);
    private static readonly string HealthySeq2One = CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Seq2One"));

    private static string Trainer(string afterBackward, string step = "optimizer.step()", string usings = "") => usings + TrainingModels.Usings + $$"""
        static class Trainer
        {
            public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
            {
                var model = new Seq2One(2, 64);
                var optimizer = optim.Adam(model.parameters(), lr: 1e-3);

                // one pass over the data
                foreach (var (x, y) in batches)
                {
                    optimizer.zero_grad();
                    var loss = nn.functional.mse_loss(model.call(x), y);
                    loss.backward();
        {{afterBackward}}            {{step}};
                }
            }
        }
        """ + TrainingModels.Seq2One;

    private static ClipFix.Test ClipTest(string source, string fixedSource, string? calibration, bool runtime = false)
    {
        var test = new ClipFix.Test { TestCode = source, FixedCode = fixedSource };
        if (calibration is not null)
        {
            test.TestState.AdditionalFiles.Add((CalibrationFiles.Path, calibration));
            test.FixedState.AdditionalFiles.Add((CalibrationFiles.Path, calibration));
        }

        if (runtime)
        {
            test.TestState.AdditionalReferences.Add(Runtime);
            test.FixedState.AdditionalReferences.Add(Runtime);
        }

        return test;
    }

    [Fact]
    public async Task GD0001_writes_the_measured_threshold_with_where_it_comes_from()
    {
        await ClipTest(
            Trainer("", "{|GD0001:optimizer.step()|}"),
            Trainer("            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.779); // p90 of 600 measured steps, gradient-calibration.json\n"),
            HealthySeq2One).RunAsync();
    }

    [Fact]
    public async Task GD0001_writes_the_measured_threshold_in_a_generic_trainer_the_project_uses_for_one_model()
    {
        // The optimizer was built from the constructor's parameter, out of scope in Fit: the fix clips what it holds.
        static string GenericTrainer(string afterBackward, string step) => TrainingModels.Usings + $$"""
            sealed class RegressionTrainer<TModel> where TModel : nn.Module<Tensor, Tensor>
            {
                private readonly TModel model;
                private readonly optim.Optimizer optimizer;

                public RegressionTrainer(TModel model)
                {
                    this.model = model;
                    optimizer = optim.Adam(model.parameters());
                }

                public void Fit(IEnumerable<(Tensor X, Tensor Y)> data)
                {
                    foreach (var (x, y) in data)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(x), y).backward();
            {{afterBackward}}                {{step}};
                    }
                }
            }

            static class Program
            {
                public static void Run() => new RegressionTrainer<Seq2One>(new Seq2One(2, 64)).Fit(new[] { (rand(8, 10, 2), rand(8, 1)) });
            }
            """ + TrainingModels.Seq2One;

        await ClipTest(
            GenericTrainer("", "{|GD0001:optimizer.step()|}"),
            GenericTrainer("            torch.nn.utils.clip_grad_norm_(optimizer.parameters(), 0.779); // p90 of 600 measured steps, gradient-calibration.json\n", "optimizer.step()"),
            HealthySeq2One).RunAsync();
    }

    [Fact]
    public async Task GD0001_says_when_the_run_recommended_other_than_its_p90()
    {
        var file = CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Seq2One") with { Steps = 1200, RecommendedClipNorm = 0.85 });
        await ClipTest(
            Trainer("", "{|GD0001:optimizer.step()|}"),
            Trainer("            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.85); // recommended from 1,200 measured steps, gradient-calibration.json\n"),
            file).RunAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GD0001_writes_the_configured_default_for_a_model_without_an_entry_or_an_unreadable_file(bool malformed)
    {
        var file = malformed
            ? HealthySeq2One.Replace("\"steps\": 600,", "\"steps\": 600,,", StringComparison.Ordinal)
            : CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Forecaster"));
        var test = ClipTest(
            Trainer("", "{|GD0001:optimizer.step()|}"),
            Trainer("            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5);\n"),
            file);
        test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n[*]\ngradient_diagnostics.default_clip_norm = 0.5\n"));
        await test.RunAsync();
    }

    [Fact]
    public async Task GD0001_offers_an_AdaptiveGradientClipper_created_once_before_the_loop_where_the_runtime_is_referenced()
    {
        var test = ClipTest(
            Trainer("", "{|GD0001:optimizer.step()|}"),
            TrainingModels.Usings.Replace("using System.Linq;\n", "using System.Linq;\nusing GradientDiagnostics;\n", StringComparison.Ordinal)
                + Trainer("            clipper.Clip();\n")[TrainingModels.Usings.Length..].Replace(
                    "\n\n        // one pass over the data",
                    "\n        var clipper = new AdaptiveGradientClipper(model.parameters());\n\n        // one pass over the data",
                    StringComparison.Ordinal),
            HealthySeq2One,
            runtime: true);
        test.CodeActionIndex = 1;
        test.CodeFixTestBehaviors = CodeFixTestBehaviors.SkipFixAllCheck;
        await test.RunAsync();
    }

    [Theory]
    [InlineData(0, "nn.utils.clip_grad_norm_(gru.parameters(), 1.0);")]
    [InlineData(1, "clipper.Clip();")]
    public async Task In_a_watched_loop_GD0001_clips_after_the_watch_records_the_unclipped_gradient(int action, string clip)
    {
        const string Before = """
            using GradientDiagnostics;
            using static TorchSharp.torch;

            var gru = nn.GRU(8, 32, batchFirst: true);
            var optimizer = optim.SGD(gru.parameters(), 0.01);
            using var watch = GradientWatch.Attach(gru);
            for (var step = 1; step <= 3; step++)
            {
                optimizer.zero_grad();
                var (output, _) = gru.call(randn(4, 10, 8));
                output.sum().backward();
                var loss = output.sum().item<float>();
                var report = watch.Record(step);
                System.Console.WriteLine($"{loss} {report.GlobalNorm}");
                {|GD0001:optimizer.step()|};
            }
            """;
        var after = Before
            .Replace("{|GD0001:optimizer.step()|}", "optimizer.step()", StringComparison.Ordinal)
            .Replace("    var report = watch.Record(step);\n", "    var report = watch.Record(step);\n    " + clip + "\n", StringComparison.Ordinal);
        if (action == 1)
        {
            after = after.Replace("for (var step", "var clipper = new AdaptiveGradientClipper(gru.parameters());\nfor (var step", StringComparison.Ordinal);
        }

        var test = ClipTest(Before, after, calibration: null, runtime: true);
        test.TestState.OutputKind = OutputKind.ConsoleApplication;
        test.CodeActionIndex = action;
        test.CodeFixTestBehaviors = CodeFixTestBehaviors.SkipFixAllCheck;
        await test.RunAsync();
    }

    [Fact]
    public async Task The_adaptive_clipper_gets_a_free_name_and_no_second_using()
    {
        const string Before = """
            using GradientDiagnostics;
            using static TorchSharp.torch;

            var clipper = "a name already taken";
            var gru = nn.GRU(8, 32, batchFirst: true);
            var optimizer = optim.SGD(gru.parameters(), 0.01);
            for (var epoch = 0; epoch < 3; epoch++)
            {
                optimizer.zero_grad();
                var (output, _) = gru.call(randn(4, 10, 8));
                output.sum().backward();
                {|GD0001:optimizer.step()|};
            }
            """;
        const string After = """
            using GradientDiagnostics;
            using static TorchSharp.torch;

            var clipper = "a name already taken";
            var gru = nn.GRU(8, 32, batchFirst: true);
            var optimizer = optim.SGD(gru.parameters(), 0.01);
            var gradientClipper = new AdaptiveGradientClipper(gru.parameters());
            for (var epoch = 0; epoch < 3; epoch++)
            {
                optimizer.zero_grad();
                var (output, _) = gru.call(randn(4, 10, 8));
                output.sum().backward();
                gradientClipper.Clip();
                optimizer.step();
            }
            """;
        var test = ClipTest(Before, After, calibration: null, runtime: true);
        test.TestState.OutputKind = OutputKind.ConsoleApplication;
        test.CodeActionIndex = 1;
        test.CodeFixTestBehaviors = CodeFixTestBehaviors.SkipFixAllCheck;
        await test.RunAsync();
    }

    [Fact]
    public async Task GD0001_offers_one_action_without_the_runtime_and_none_adaptive_for_a_step_outside_any_loop()
    {
        Assert.Equal(["Clip gradients after backward()"], await TitlesAsync(Trainer("", "optimizer.step()"), runtime: false));
        Assert.Equal(["Clip gradients after backward()", "Clip gradients with AdaptiveGradientClipper"], await TitlesAsync(Trainer("", "optimizer.step()"), runtime: true));

        // One step per call: a clipper made here would forget every norm it saw at the next call.
        var perBatch = TrainingModels.Usings + """
            sealed class Trainer(Seq2One model)
            {
                private readonly optim.Optimizer optimizer = optim.Adam(model.parameters());

                public void Step(Tensor x, Tensor y)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    optimizer.step();
                }
            }
            """ + TrainingModels.Seq2One;
        Assert.Equal(["Clip gradients after backward()"], await TitlesAsync(perBatch, runtime: true));
    }

    [Fact]
    public async Task An_AdaptiveGradientClipper_between_backward_and_step_is_clipping_and_before_backward_is_not()
    {
        var clipped = new TorchSharpAnalyzerVerifier<MissingGradientClippingAnalyzer>.Test
        {
            TestCode = "using GradientDiagnostics;\n" + Trainer("            clipper.Clip();\n").Replace("        // one pass", "        var clipper = new AdaptiveGradientClipper(model.parameters());\n        // one pass", StringComparison.Ordinal),
        };
        clipped.TestState.AdditionalReferences.Add(Runtime);
        await clipped.RunAsync();

        // Clip() before backward() clips last iteration's gradients, already used: GD0006's, and the step is still unclipped.
        var misplaced = new TorchSharpAnalyzerVerifier<IneffectiveClipPlacementAnalyzer>.Test
        {
            TestCode = "using GradientDiagnostics;\n" + Trainer("", "optimizer.step()")
                .Replace("        // one pass", "        var clipper = new AdaptiveGradientClipper(model.parameters());\n        // one pass", StringComparison.Ordinal)
                .Replace("            optimizer.zero_grad();\n", "            optimizer.zero_grad();\n            {|GD0006:clipper.Clip()|};\n", StringComparison.Ordinal),
        };
        misplaced.TestState.AdditionalReferences.Add(Runtime);
        await misplaced.RunAsync();
    }

    [Fact]
    public async Task GD0011_replaces_a_threshold_far_below_the_measured_norms_and_notes_the_source()
    {
        var test = new ThresholdFix.Test
        {
            TestCode = Trainer("            torch.nn.utils.clip_grad_norm_(model.parameters(), {|GD0011:0.001|});\n"),
            FixedCode = Trainer("            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.779); // p90 of 600 measured steps, gradient-calibration.json\n"),
        };
        test.TestState.AdditionalFiles.Add((CalibrationFiles.Path, HealthySeq2One));
        test.FixedState.AdditionalFiles.Add((CalibrationFiles.Path, HealthySeq2One));
        await test.RunAsync();
    }

    [Fact]
    public async Task GD0011_keeps_the_users_comment_and_replaces_an_earlier_calibration_comment()
    {
        var file = CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Seq2One") with { Steps = 1200 });
        foreach (var (comment, expected) in new[]
        {
            ("// keep it tight", "// keep it tight"),
            ("// p90 of 600 measured steps, old-run.json", "// p90 of 1,200 measured steps, gradient-calibration.json"),
        })
        {
            var test = new ThresholdFix.Test
            {
                TestCode = Trainer($"            nn.utils.clip_grad_norm_(model.parameters(), {{|#0:50|}}); {comment}\n"),
                FixedCode = Trainer($"            nn.utils.clip_grad_norm_(model.parameters(), 0.779); {expected}\n"),
            };
            test.TestState.AdditionalFiles.Add((CalibrationFiles.Path, file));
            test.FixedState.AdditionalFiles.Add((CalibrationFiles.Path, file));
            test.ExpectedDiagnostics.Add(new DiagnosticResult("GD0011", DiagnosticSeverity.Info).WithLocation(0));
            await test.RunAsync();
        }
    }

    [Fact]
    public async Task GD0011_offers_no_fix_for_a_named_constant()
    {
        var source = Trainer("            torch.nn.utils.clip_grad_norm_(model.parameters(), {|GD0011:Tiny|});\n").Replace("static class Trainer\n{", "static class Trainer\n{\n    const double Tiny = 0.001;\n", StringComparison.Ordinal);
        var test = new ThresholdFix.Test { TestCode = source, FixedCode = source };
        test.TestState.AdditionalFiles.Add((CalibrationFiles.Path, HealthySeq2One));
        test.FixedState.AdditionalFiles.Add((CalibrationFiles.Path, HealthySeq2One));
        await test.RunAsync();
    }

    /// <summary>The titles of the code actions GD0001's fixer offers for the one diagnostic in <paramref name="source"/>.</summary>
    private static async Task<string[]> TitlesAsync(string source, bool runtime)
    {
        using var workspace = new AdhocWorkspace();
        var references = (await TorchSharpReferences.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None))
            .Add(TorchSharpReferences.TorchSharp);
        var project = workspace.AddProject("User", LanguageNames.CSharp)
            .WithMetadataReferences(runtime ? references.Add(Runtime) : references)
            .WithCompilationOptions(new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary))
            .WithParseOptions(new CSharpParseOptions(LanguageVersion.Latest));
        var document = project.AddDocument("Trainer.cs", SourceText.From(source));
        var compilation = (await document.Project.GetCompilationAsync())!;
        var diagnostic = Assert.Single(await compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new MissingGradientClippingAnalyzer()))
            .GetAnalyzerDiagnosticsAsync());

        var actions = new List<CodeAction>();
        await new MissingGradientClippingFixer().RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None));
        return actions.Select(action => action.Title).ToArray();
    }
}
