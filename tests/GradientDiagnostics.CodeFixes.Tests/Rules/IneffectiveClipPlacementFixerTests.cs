using GradientDiagnostics.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpCodeFixVerifier<GradientDiagnostics.Analyzers.IneffectiveClipPlacementAnalyzer, GradientDiagnostics.CodeFixes.IneffectiveClipPlacementFixer>;

namespace GradientDiagnostics.CodeFixes.Tests.Rules;

public class IneffectiveClipPlacementFixerTests
{
    [Fact]
    public async Task Moves_a_clip_after_step_to_just_after_backward()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                        optimizer.step();

                        // keep exploding gradients in check
                        {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                        // keep exploding gradients in check
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        optimizer.step();

                    }
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Moves_a_clip_before_backward_to_just_after_it()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        {|GD0006:nn.utils.clip_grad_value_(model.parameters(), 0.5)|};
                        var loss = nn.functional.mse_loss(model.call(x), y);
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(x), y);
                        loss.backward();
                        nn.utils.clip_grad_value_(model.parameters(), 0.5);
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Moves_a_norm_declaration_earlier_and_reindents_it_out_of_a_nested_block()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            sealed class SequenceTrainer
            {
                private readonly Seq2One model = new(2, 64);
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer() => optimizer = optim.Adam(model.parameters());

                public double TrainBatch(Tensor inputs, Tensor targets, bool log)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(inputs), targets).backward();
                    optimizer.step();
                    if (log)
                    {
                        {|GD0006:ClipAndReport(model)|};
                    }

                    return 0;
                }

                private static void ClipAndReport(nn.Module module) => Console.WriteLine(torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0));
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            sealed class SequenceTrainer
            {
                private readonly Seq2One model = new(2, 64);
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer() => optimizer = optim.Adam(model.parameters());

                public double TrainBatch(Tensor inputs, Tensor targets, bool log)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(inputs), targets).backward();
                    ClipAndReport(model);
                    optimizer.step();
                    if (log)
                    {
                    }

                    return 0;
                }

                private static void ClipAndReport(nn.Module module) => Console.WriteLine(torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0));
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Moves_a_declared_norm_that_is_only_used_later()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
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
                    var norm = {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                    return norm;
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
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
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Moves_a_clip_into_the_LBFGS_closure_after_backward()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Fit
            {
                public static void Run(Seq2One model, Tensor x, Tensor y)
                {
                    var optimizer = optim.LBFGS(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.step(() =>
                        {
                            optimizer.zero_grad();
                            {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                            var loss = nn.functional.mse_loss(model.call(x), y);
                            loss.backward();
                            return loss;
                        });
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            static class Fit
            {
                public static void Run(Seq2One model, Tensor x, Tensor y)
                {
                    var optimizer = optim.LBFGS(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.step(() =>
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(x), y);
                            loss.backward();
                            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                            return loss;
                        });
                    }
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Moves_a_clip_before_a_backward_on_a_loss_expression()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Pretrain(Seq2One model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Pretrain(Seq2One model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Fix_all_moves_misplaced_clips_in_every_method()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Pretrain(Seq2One model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        optimizer.step();
                    }
                }

                public static void FineTune(Seq2One model)
                {
                    var optimizer = optim.SGD(model.parameters(), 1e-4);
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        optimizer.step();
                        {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)|};
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Pretrain(Seq2One model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        optimizer.step();
                    }
                }

                public static void FineTune(Seq2One model)
                {
                    var optimizer = optim.SGD(model.parameters(), 1e-4);
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5);
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Offers_no_fix_when_the_clip_uses_a_variable_declared_after_backward()
    {
        var source = TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model, double baseNorm)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        optimizer.step();
                        var maxNorm = baseNorm / (1 + i);
                        {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), maxNorm)|};
                    }
                }
            }
            """ + TrainingModels.Seq2One;
        await Verify.VerifyAsync(source, source);
    }

    [Fact]
    public async Task Offers_no_fix_when_the_declared_norm_is_used_before_the_new_place()
    {
        var source = TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        var norm = {|GD0006:torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                        Console.WriteLine(norm);
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One;
        await Verify.VerifyAsync(source, source);
    }
}
