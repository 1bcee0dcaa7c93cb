using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.InvalidClipThresholdAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

public class InvalidClipThresholdAnalyzerTests
{
    private static Task VerifyAsync(string clipStatement, string? editorConfig = null, params DiagnosticResult[] expected) =>
        Verify.VerifyAsync(
            TrainingModels.Usings + $$"""
            static class Trainer
            {
                const double MaxNorm = 1.0;

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
            """ + TrainingModels.Seq2One,
            editorConfig,
            expected);

    private static DiagnosticResult Invalid(string value, string problem) =>
        Verify.Diagnostic("GD0007").WithLocation(0).WithArguments(value, problem);

    // ---- positive ----

    [Fact]
    public async Task Reports_a_zero_max_norm()
    {
        await VerifyAsync(
            "{|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), 0.0)|};",
            expected: Invalid("0", "is not positive: clipping zeroes (or reverses) every gradient"));
    }

    [Fact]
    public async Task Reports_a_negative_max_norm_given_as_an_int()
    {
        await VerifyAsync(
            "{|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), -1)|};",
            expected: Invalid("-1", "is not positive: clipping zeroes (or reverses) every gradient"));
    }

    [Fact]
    public async Task Reports_NaN()
    {
        await VerifyAsync(
            "{|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), double.NaN)|};",
            expected: Invalid("NaN", "is NaN: every clipped gradient becomes NaN"));
    }

    [Fact]
    public async Task Reports_positive_infinity()
    {
        await VerifyAsync(
            "{|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), double.PositiveInfinity)|};",
            expected: Invalid("+Infinity", "is infinite: clipping never acts"));
    }

    [Fact]
    public async Task Reports_negative_infinity()
    {
        await VerifyAsync(
            "{|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), double.NegativeInfinity)|};",
            expected: Invalid("-Infinity", "is not positive: clipping zeroes (or reverses) every gradient"));
    }

    [Fact]
    public async Task Reports_a_threshold_above_the_default_ceiling()
    {
        await VerifyAsync(
            "{|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), 1e6)|};",
            expected: Invalid("1000000", "is above the ceiling 100 (gradient_diagnostics.max_clip_threshold): clipping in effect never acts"));
    }

    [Fact]
    public async Task Reports_a_threshold_above_a_configured_ceiling()
    {
        await VerifyAsync(
            "{|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), 25.0)|};",
            "gradient_diagnostics.max_clip_threshold = 10\n",
            Invalid("25", "is above the ceiling 10 (gradient_diagnostics.max_clip_threshold): clipping in effect never acts"));
    }

    [Fact]
    public async Task Reports_a_zero_clip_value()
    {
        await VerifyAsync(
            "{|#0:nn.utils.clip_grad_value_(model.parameters(), 0)|};",
            expected: Invalid("0", "is not positive: clipping zeroes (or reverses) every gradient"));
    }

    [Fact]
    public async Task Reports_a_named_threshold_argument_written_first()
    {
        await VerifyAsync(
            "{|#0:torch.nn.utils.clip_grad_norm_(max_norm: -0.5, tensors: model.parameters())|};",
            expected: Invalid("-0.5", "is not positive: clipping zeroes (or reverses) every gradient"));
    }

    [Fact]
    public async Task Reports_a_constant_field_with_an_invalid_value()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            sealed class Config
            {
                public const double GradientClip = 0;
            }

            static class Trainer
            {
                public static void Train(Seq2One model, optim.Optimizer optimizer, Tensor x, Tensor y)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    var norm = {|GD0007:torch.nn.utils.clip_grad_norm_(model.parameters(), Config.GradientClip)|};
                    optimizer.step();
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Reports_with_using_static_nn_utils()
    {
        await Verify.VerifyAsync(
            """
            using TorchSharp;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn.utils;

            static class Trainer
            {
                public static void Step(nn.Module model, optim.Optimizer optimizer, Tensor loss)
                {
                    loss.backward();
                    {|GD0007:clip_grad_norm_(model.parameters(), 1000)|};
                    optimizer.step();
                }
            }
            """);
    }

    // ---- negative ----

    [Theory]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);")]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25);")]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), 5);")]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), 100.0);")]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), MaxNorm);")]
    [InlineData("nn.utils.clip_grad_value_(model.parameters(), 0.5);")]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm: 2.0, norm_type: double.PositiveInfinity);")]
    [InlineData("torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, 0);")]
    public async Task Accepts_a_finite_positive_threshold_within_the_ceiling(string clipStatement)
    {
        await VerifyAsync(clipStatement);
    }

    [Fact]
    public async Task A_threshold_computed_at_run_time_is_not_judged()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model, optim.Optimizer optimizer, Tensor x, Tensor y, double maxNorm)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    torch.nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
                    torch.nn.utils.clip_grad_norm_(model.parameters(), Environment.ProcessorCount * 0.0);
                    optimizer.step();
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task A_raised_ceiling_accepts_a_large_threshold()
    {
        await VerifyAsync(
            "torch.nn.utils.clip_grad_norm_(model.parameters(), 250.0);",
            "gradient_diagnostics.max_clip_threshold = 1000\n");
    }

    [Fact]
    public async Task A_user_method_named_clip_grad_norm_is_not_TorchSharp()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                static double clip_grad_norm_(IEnumerable<Tensor> parameters, double max_norm) => max_norm;

                public static void Train(Seq2One model, optim.Optimizer optimizer, Tensor x, Tensor y)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    clip_grad_norm_(model.parameters(), 0);
                    optimizer.step();
                }
            }
            """ + TrainingModels.Seq2One);
    }
}
