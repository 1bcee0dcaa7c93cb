using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.ClipThresholdOutsideMeasuredNormsAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

/// <summary>
/// GD0011 against the healthy LSTM's measurements (<see cref="CalibrationFiles.HealthyLstm"/>: p10 0.0282, max 4.1,
/// recommended 0.779 over 600 steps): a threshold below p10 is a Warning, one above 10 × max an Info, anything between
/// is silent, and so is every threshold without a file, without an entry for the model, or that is not an L2 norm clip.
/// </summary>
public class ClipThresholdOutsideMeasuredNormsAnalyzerTests
{
    private const string Measured = "of the pre-clip global norm of 'Seq2One' (600 steps, gradient-calibration.json)";

    private static string Training(string clipStatement) => TrainingModels.Usings + $$"""
        static class Trainer
        {
            const double TinyNorm = 0.001;

            public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
            {
                var model = new Seq2One(2, 64);
                var optimizer = optim.Adam(model.parameters());
                foreach (var (x, y) in batches)
                {
                    optimizer.zero_grad();
                    var loss = nn.functional.mse_loss(model.call(x), y);
                    loss.backward();
                    {{clipStatement}}
                    optimizer.step();
                }
            }
        }
        """ + TrainingModels.Seq2One;

    private static Task VerifyAsync(string source, string? calibration, string? editorConfig = null, params DiagnosticResult[] expected)
    {
        var test = new Verify.Test { TestCode = source };
        if (calibration is not null)
        {
            test.TestState.AdditionalFiles.Add((CalibrationFiles.Path, calibration));
        }

        if (editorConfig is not null)
        {
            test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n[*]\n" + editorConfig));
        }

        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    private static readonly string HealthySeq2One = CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Seq2One"));

    private static DiagnosticResult BelowP10(string threshold, string factor = "", int location = 0) => Verify.Diagnostic("GD0011").WithLocation(location).WithArguments(
        threshold,
        $"is below {factor}the measured p10 (0.0282) {Measured}: at least nine steps in ten are rescaled, so the optimizer runs on normalised gradients; "
        + "the run recommends 0.779 (if the model trains only because of this clip, lower its learning rate instead)");

    private static DiagnosticResult AboveMax(string threshold, string factor = "10 × ") => new DiagnosticResult("GD0011", DiagnosticSeverity.Info).WithLocation(0).WithArguments(
        threshold,
        $"is above {factor}the measured max (4.1) {Measured}: the clip never engages at this model's scale; the run recommends 0.779");

    // ---- positive ----

    [Fact]
    public async Task Warns_about_a_threshold_far_below_the_measured_norms()
    {
        await VerifyAsync(Training("torch.nn.utils.clip_grad_norm_(model.parameters(), {|#0:0.001|});"), HealthySeq2One, expected: BelowP10("0.001"));
    }

    [Fact]
    public async Task Warns_about_a_named_constant_and_a_named_argument_too()
    {
        await VerifyAsync(Training("nn.utils.clip_grad_norm_(model.parameters(), max_norm: {|#0:TinyNorm|});"), HealthySeq2One, expected: BelowP10("0.001"));
    }

    [Fact]
    public async Task Informs_about_a_threshold_far_above_the_measured_max()
    {
        await VerifyAsync(Training("torch.nn.utils.clip_grad_norm_(model.parameters(), {|#0:50|});"), HealthySeq2One, expected: AboveMax("50"));
    }

    [Fact]
    public async Task Judges_by_the_entry_of_the_trained_model_among_several()
    {
        var source = Training("torch.nn.utils.clip_grad_norm_(model.parameters(), {|#0:0.001|});");
        var file = CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Forecaster") with { P10 = 1e-9 }, CalibrationFiles.HealthyLstm("Seq2One"));
        await VerifyAsync(source, file, expected: BelowP10("0.001"));
    }

    [Fact]
    public async Task Judges_a_generic_trainer_by_the_one_model_type_the_sources_give_it()
    {
        // The trainer is written once for any TModel; the project uses it for Seq2One only (a subclass naming the type
        // argument, and a generic helper whose argument is inferred), so its clip is judged against Seq2One's entry.
        var source = TrainingModels.Usings + """
            class SupervisedTrainer<TModel> where TModel : nn.Module<Tensor, Tensor>
            {
                private const double ClipNorm = 0.001;
                protected readonly TModel Model;
                private readonly optim.Optimizer optimizer;

                public SupervisedTrainer(TModel model)
                {
                    Model = model;
                    optimizer = optim.Adam(model.parameters());
                }

                public void Fit(IEnumerable<(Tensor X, Tensor Y)> data)
                {
                    foreach (var (x, y) in data)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(Model.call(x), y).backward();
                        nn.utils.clip_grad_norm_(Model.parameters(), {|#0:ClipNorm|});
                        optimizer.step();
                    }
                }
            }

            sealed class Seq2OneTrainer : SupervisedTrainer<Seq2One>
            {
                public Seq2OneTrainer() : base(new Seq2One(2, 64)) { }
            }

            static class Steps
            {
                public static void FitOnce<TNet>(TNet net, Tensor x, Tensor y) where TNet : nn.Module<Tensor, Tensor>
                {
                    var optimizer = optim.SGD(net.parameters(), 0.1);
                    optimizer.zero_grad();
                    nn.functional.mse_loss(net.call(x), y).backward();
                    nn.utils.clip_grad_norm_(net.parameters(), {|#1:0.001|});
                    optimizer.step();
                }

                public static void Run() => FitOnce(new Seq2One(2, 64), randn(8, 5, 2), randn(8, 1));
            }
            """ + TrainingModels.Seq2One;
        await VerifyAsync(source, HealthySeq2One, expected: [BelowP10("0.001"), BelowP10("0.001", location: 1)]);

        // Used for a second model type too: which entry applies cannot be told.
        var twoModels = source.Replace("{|#0:ClipNorm|}", "ClipNorm", StringComparison.Ordinal).Replace("{|#1:0.001|}", "0.001", StringComparison.Ordinal)
            + "\nsealed class OtherTrainer : SupervisedTrainer<Other> { public OtherTrainer() : base(new Other()) { } }\n"
            + "sealed class Other : nn.Module<Tensor, Tensor> { public Other() : base(nameof(Other)) { } public override Tensor forward(Tensor x) => x; }\n"
            + "static class MoreSteps { public static void Run() => Steps.FitOnce(new Other(), randn(8, 5, 2), randn(8, 1)); }\n";
        await VerifyAsync(twoModels, HealthySeq2One);
    }

    [Fact]
    public async Task Judges_a_clip_by_the_model_whose_parameters_it_clips()
    {
        // One backward, two optimizers: each clip serves both steps, but clips one model's parameters. The encoder's 0.001 is
        // far below the encoder's norms; the decoder's 0.001 is within the decoder's; a clip of a submodule's parameters
        // (a slice of the model's gradient, with a smaller norm) is not judged against the whole model's measurements.
        var source = TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var encoder = new Seq2One(2, 64);
                    var decoder = new Decoder();
                    var encoderOptimizer = optim.Adam(encoder.parameters());
                    var decoderOptimizer = optim.Adam(decoder.parameters());
                    foreach (var (x, y) in batches)
                    {
                        encoderOptimizer.zero_grad();
                        decoderOptimizer.zero_grad();
                        nn.functional.mse_loss(decoder.call(encoder.call(x)), y).backward();
                        nn.utils.clip_grad_norm_(encoder.parameters(), {|#0:0.001|});
                        nn.utils.clip_grad_norm_(decoder.parameters(), 0.001);
                        encoderOptimizer.step();
                        decoderOptimizer.step();
                    }
                }

                public static void TrainWhole(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Decoder();
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(x), y).backward();
                        nn.utils.clip_grad_norm_(model.Gru.parameters(), 0.000001);
                        optimizer.step();
                    }
                }
            }

            sealed class Decoder : nn.Module<Tensor, Tensor>
            {
                public Decoder() : base(nameof(Decoder)) => RegisterComponents();

                public TorchSharp.Modules.GRU Gru { get; } = nn.GRU(1, 8, batchFirst: true);

                public override Tensor forward(Tensor x) => Gru.call(x).Item1;
            }
            """ + TrainingModels.Seq2One;
        var file = CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Seq2One"), CalibrationFiles.HealthyLstm("Decoder") with { P10 = 1e-5, P50 = 1e-4, P90 = 1e-3, P99 = 2e-3, Max = 3e-3, RecommendedClipNorm = 1e-3 });
        await VerifyAsync(source, file, expected: BelowP10("0.001"));
    }

    [Fact]
    public async Task The_low_factor_widens_what_counts_as_far_below()
    {
        // 0.02 lies below p10 (0.0282) but above half of it.
        var source = Training("torch.nn.utils.clip_grad_norm_(model.parameters(), {|#0:0.02|});");
        await VerifyAsync(source, HealthySeq2One, expected: BelowP10("0.02"));
        await VerifyAsync(source.Replace("{|#0:0.02|}", "0.02", StringComparison.Ordinal), HealthySeq2One, "gradient_diagnostics.calibration_low_factor = 0.5\n");
    }

    [Fact]
    public async Task The_high_factor_narrows_what_counts_as_far_above()
    {
        var source = Training("torch.nn.utils.clip_grad_norm_(model.parameters(), {|#0:10.0|});");
        await VerifyAsync(source.Replace("{|#0:10.0|}", "10.0", StringComparison.Ordinal), HealthySeq2One);
        await VerifyAsync(source, HealthySeq2One, "gradient_diagnostics.calibration_high_factor = 2\n", AboveMax("10", "2 × "));
    }

    // ---- negative ----

    [Theory]
    [InlineData("0.0282")]   // p10 itself
    [InlineData("0.779")]    // the recommendation
    [InlineData("1.0")]      // the customary default, inside the measured range
    [InlineData("41")]       // 10 × max
    public async Task Is_silent_for_a_threshold_within_the_measured_norms(string threshold)
    {
        await VerifyAsync(Training($"torch.nn.utils.clip_grad_norm_(model.parameters(), {threshold});"), HealthySeq2One);
    }

    [Fact]
    public async Task Is_silent_without_a_calibration_file()
    {
        await VerifyAsync(Training("torch.nn.utils.clip_grad_norm_(model.parameters(), 0.001);"), calibration: null);
    }

    [Fact]
    public async Task Is_silent_for_a_model_without_an_entry()
    {
        await VerifyAsync(Training("torch.nn.utils.clip_grad_norm_(model.parameters(), 0.001);"), CalibrationFiles.Json(CalibrationFiles.HealthyLstm("Forecaster")));
    }

    [Fact]
    public async Task Is_silent_when_two_model_types_share_the_entrys_simple_name()
    {
        // The run wrote "Seq2One" (its type's simple name): which of Lab.Seq2One and Zoo.Seq2One it measured cannot be told.
        var source = Training("torch.nn.utils.clip_grad_norm_(model.parameters(), 0.001);")
            .Replace("new Seq2One(2, 64)", "new Lab.Seq2One(2, 64)", StringComparison.Ordinal)
            .Replace("sealed class Seq2One", "namespace Lab { sealed class Seq2One", StringComparison.Ordinal)
            + "\n}\n";
        await VerifyAsync(source + "\nnamespace Zoo { " + TrainingModels.Seq2One + " }\n", HealthySeq2One);
    }

    [Fact]
    public async Task Is_silent_for_a_malformed_file_the_unreadable_file_rule_reports()
    {
        await VerifyAsync(Training("torch.nn.utils.clip_grad_norm_(model.parameters(), 0.001);"), HealthySeq2One.Replace("\"p90\"", "\"p90\" 0.7,", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("torch.nn.utils.clip_grad_value_(model.parameters(), 0.001);")]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), 0.001, norm_type: 1);")]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), 0.001 * batches.Count());")]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), 0.0);")]     // GD0007's
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), 1000.0);")]  // GD0007's (above the ceiling)
    public async Task Is_silent_for_thresholds_it_cannot_judge_or_GD0007_reports(string clipStatement)
    {
        await VerifyAsync(Training(clipStatement), HealthySeq2One);
    }

    [Fact]
    public async Task Is_silent_for_a_clip_that_does_not_act_on_a_training_step()
    {
        var source = TrainingModels.Usings + """
            static class Tools
            {
                public static void Shrink(Seq2One model) => torch.nn.utils.clip_grad_norm_(model.parameters(), 0.001);
            }
            """ + TrainingModels.Seq2One;
        await VerifyAsync(source, HealthySeq2One);
    }
}
