using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.IneffectiveClipPlacementAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

public class IneffectiveClipPlacementAnalyzerTests
{
    private const string Models = TrainingModels.Seq2One + TrainingModels.Mlp;

    private static Task VerifyAsync(string code, params DiagnosticResult[] expected) =>
        Verify.VerifyAsync(TrainingModels.Usings + code + Models, expected);

    private static DiagnosticResult Misplaced(int location, string method, string where) =>
        Verify.Diagnostic("GD0006").WithLocation(location).WithArguments(method, where).WithOptions(DiagnosticOptions.IgnoreAdditionalLocations);

    // ---- positive ----

    [Fact]
    public async Task Reports_a_clip_after_step_in_a_training_loop()
    {
        await VerifyAsync(
            """
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                        optimizer.step();
                        {|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                    }
                }
            }
            """,
            Misplaced(0, "clip_grad_norm_", "after step()"));
    }

    [Fact]
    public async Task Reports_a_clip_before_backward_in_a_training_loop()
    {
        await VerifyAsync(
            """
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        {|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """,
            Misplaced(0, "clip_grad_norm_", "before backward()"));
    }

    [Fact]
    public async Task Reports_a_clip_at_the_top_of_the_iteration_before_zero_grad()
    {
        await VerifyAsync(
            """
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        {|#0:nn.utils.clip_grad_norm_(model.parameters(), 5.0)|};
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(x), y);
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """,
            Misplaced(0, "clip_grad_norm_", "before backward()"));
    }

    [Fact]
    public async Task Reports_a_clip_before_backward_in_a_per_batch_method()
    {
        await VerifyAsync(
            """
            sealed class SequenceTrainer
            {
                private readonly Seq2One model = new(2, 64);
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer() => optimizer = optim.Adam(model.parameters());

                public void TrainBatch(Tensor inputs, Tensor targets)
                {
                    optimizer.zero_grad();
                    {|#0:torch.nn.utils.clip_grad_value_(model.parameters(), 0.5)|};
                    var loss = nn.functional.mse_loss(model.call(inputs), targets);
                    loss.backward();
                    optimizer.step();
                }
            }
            """,
            Misplaced(0, "clip_grad_value_", "before backward()"));
    }

    [Fact]
    public async Task Reports_a_clip_whose_norm_is_logged_after_step_in_a_per_batch_method()
    {
        await VerifyAsync(
            """
            sealed class SequenceTrainer
            {
                private readonly Seq2One model = new(2, 64);
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer() => optimizer = optim.Adam(model.parameters());

                public double TrainBatch(Tensor inputs, Tensor targets)
                {
                    optimizer.zero_grad();
                    var loss = nn.functional.mse_loss(model.call(inputs), targets);
                    loss.backward();
                    optimizer.step();
                    var norm = {|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                    return norm;
                }
            }
            """,
            Misplaced(0, "clip_grad_norm_", "after step()"));
    }

    [Fact]
    public async Task Reports_a_clipping_helper_called_after_step()
    {
        await VerifyAsync(
            """
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                        optimizer.step();
                        {|#0:ClipGradients(model)|};
                    }
                }

                private static void ClipGradients(nn.Module model) => torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            }
            """,
            Misplaced(0, "ClipGradients", "after step()"));
    }

    [Fact]
    public async Task Reports_a_hand_written_rescale_of_the_gradients_after_step()
    {
        await VerifyAsync(
            """
            static class Trainer
            {
                public static void Train(double theta)
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1)).backward();
                        optimizer.step();
                        var norm = model.parameters().Select(p => p.grad!.norm().item<float>()).Max();
                        foreach (var p in model.parameters())
                        {
                            {|#0:p.grad!.mul_(Math.Min(1.0, theta / norm))|};
                        }
                    }
                }
            }
            """,
            Misplaced(0, "mul_", "after step()"));
    }

    [Fact]
    public async Task A_hand_written_rescale_between_backward_and_step_is_correct()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(double theta)
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1)).backward();
                        var norm = model.parameters().Select(p => p.grad!.norm().item<float>()).Max();
                        foreach (var p in model.parameters())
                        {
                            p.grad!.mul_(Math.Min(1.0, theta / norm));
                        }

                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_misplaced_clip_for_a_non_recurrent_model_too()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Mlp(784, 256, 10);
                    var optimizer = optim.SGD(model.parameters(), 0.1);
                    for (var epoch = 0; epoch < 10; epoch++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.cross_entropy(model.call(randn(64, 784)), randint(0, 10, 64));
                        loss.backward();
                        optimizer.step();
                        {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_clip_before_backward_inside_an_LBFGS_closure()
    {
        await VerifyAsync(
            """
            static class Fit
            {
                public static void Run()
                {
                    var model = new Seq2One(3, 32);
                    var optimizer = optim.LBFGS(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.step(() =>
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(randn(16, 20, 3)), randn(16, 1));
                            {|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                            loss.backward();
                            return loss;
                        });
                    }
                }
            }
            """,
            Misplaced(0, "clip_grad_norm_", "before backward()"));
    }

    [Fact]
    public async Task Reports_a_clip_between_step_and_the_next_backward_when_step_comes_first_in_the_loop()
    {
        await VerifyAsync(
            """
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        if (i > 0)
                        {
                            optimizer.step();
                        }

                        {|#0:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                    }
                }
            }
            """,
            Misplaced(0, "clip_grad_norm_", "after step()"));
    }

    [Fact]
    public async Task Reports_a_misplaced_clip_in_a_pretraining_loop_followed_by_a_fine_tuning_loop()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void PretrainThenFineTune(Seq2One model)
                {
                    var pretrainOptimizer = optim.Adam(model.parameters(), 1e-3);
                    for (var i = 0; i < 1000; i++)
                    {
                        pretrainOptimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1)).backward();
                        pretrainOptimizer.step();
                        {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                    }

                    var fineTuneOptimizer = optim.SGD(model.parameters(), 1e-4);
                    for (var i = 0; i < 100; i++)
                    {
                        fineTuneOptimizer.zero_grad();
                        nn.functional.l1_loss(model.call(rand(8, 200, 2)), rand(8, 1)).backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        fineTuneOptimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_configured_clipping_method_after_step()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            namespace Lab
            {
                static class Grad
                {
                    public static void Scale(nn.Module model)
                    {
                        foreach (var parameter in model.parameters())
                        {
                            parameter.grad?.mul_(0.5);
                        }
                    }
                }

                static class Trainer
                {
                    public static void Train()
                    {
                        var model = new Seq2One(2, 64);
                        var optimizer = optim.Adam(model.parameters());
                        for (var i = 0; i < 100; i++)
                        {
                            optimizer.zero_grad();
                            nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1)).backward();
                            optimizer.step();
                            {|GD0006:Grad.Scale(model)|};
                        }
                    }
                }
            }
            """ + Models,
            "gradient_diagnostics.clipping_methods = Lab.Grad.Scale\n");
    }

    // ---- negative ----

    [Fact]
    public async Task A_clip_between_backward_and_step_is_correct()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_clip_between_backward_and_step_in_a_per_batch_method_is_correct()
    {
        await VerifyAsync("""
            sealed class SequenceTrainer
            {
                private readonly Seq2One model = new(2, 64);
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer() => optimizer = optim.Adam(model.parameters());

                public double TrainBatch(Tensor inputs, Tensor targets)
                {
                    optimizer.zero_grad();
                    var loss = nn.functional.mse_loss(model.call(inputs), targets);
                    loss.backward();
                    var norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                    optimizer.step();
                    return norm;
                }
            }
            """);
    }

    [Fact]
    public async Task A_clipping_helper_between_backward_and_step_is_correct()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                        ClipGradients(model);
                        optimizer.step();
                    }
                }

                private static void ClipGradients(nn.Module model) => torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            }
            """);
    }

    [Fact]
    public async Task A_clip_before_a_step_that_opens_the_next_iteration_is_correct()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        if (i > 0)
                        {
                            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                            optimizer.step();
                        }

                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_clip_after_backward_inside_an_LBFGS_closure_is_correct()
    {
        await VerifyAsync("""
            static class Fit
            {
                public static void Run()
                {
                    var model = new Seq2One(3, 32);
                    var optimizer = optim.LBFGS(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.step(() =>
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(randn(16, 20, 3)), randn(16, 1));
                            loss.backward();
                            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                            return loss;
                        });
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_clip_inside_gradient_accumulation_before_the_conditional_step_is_correct()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IReadOnlyList<(Tensor X, Tensor Y)> batches, int accumulation)
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < batches.Count; i++)
                    {
                        var loss = nn.functional.mse_loss(model.call(batches[i].X), batches[i].Y) / accumulation;
                        loss.backward();
                        if ((i + 1) % accumulation == 0)
                        {
                            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                            optimizer.step();
                            optimizer.zero_grad();
                        }
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_clip_after_the_training_loop_is_not_part_of_a_step()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static double Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        optimizer.step();
                    }

                    return model.parameters().Count();
                }
            }
            """);
    }

    [Fact]
    public async Task A_clip_in_a_method_without_a_training_step_is_not_judged()
    {
        await VerifyAsync("""
            static class GradientTools
            {
                public static double ClipAndMeasure(nn.Module model, double maxNorm)
                {
                    var norm = torch.nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
                    Console.WriteLine($"gradient norm before clipping: {norm}");
                    return norm;
                }
            }
            """);
    }

    [Fact]
    public async Task A_clip_between_backward_and_the_second_of_two_optimizers_is_correct()
    {
        await VerifyAsync("""
            static class Seq2SeqTrainer
            {
                public static void Train()
                {
                    var encoder = nn.LSTM(16, 64, batchFirst: true);
                    var decoder = new Mlp(64, 64, 16);
                    var encoderOptimizer = optim.Adam(encoder.parameters());
                    var decoderOptimizer = optim.Adam(decoder.parameters());
                    for (var i = 0; i < 500; i++)
                    {
                        encoderOptimizer.zero_grad();
                        decoderOptimizer.zero_grad();
                        var (output, _, _) = encoder.call(randn(8, 30, 16));
                        var loss = nn.functional.mse_loss(decoder.call(output.select(1, -1)), randn(8, 16));
                        loss.backward();
                        torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0);
                        encoderOptimizer.step();
                        decoderOptimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_clip_in_an_evaluation_loop_without_a_step_is_not_judged()
    {
        await VerifyAsync("""
            static class Diagnostics
            {
                public static void MeasureGradientNorms(Seq2One model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.SGD(model.parameters(), 0.0);
                    foreach (var (x, y) in batches)
                    {
                        model.zero_grad();
                        nn.functional.mse_loss(model.call(x), y).backward();
                        Console.WriteLine(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0));
                    }

                    optimizer.zero_grad();
                }
            }
            """);
    }
}
