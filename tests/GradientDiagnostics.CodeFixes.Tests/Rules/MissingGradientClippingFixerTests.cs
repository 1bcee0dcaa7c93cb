using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Verify = GradientDiagnostics.Testing.TorchSharpCodeFixVerifier<GradientDiagnostics.Analyzers.MissingGradientClippingAnalyzer, GradientDiagnostics.CodeFixes.MissingGradientClippingFixer>;

namespace GradientDiagnostics.CodeFixes.Tests.Rules;

public class MissingGradientClippingFixerTests
{
    [Fact]
    public async Task Clips_the_model_the_optimizer_was_built_from_right_after_backward()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
                    for (var step = 0; step < 1000; step++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(32, 100, 2)), rand(32, 1));
                        loss.backward(); // gradients are ready here
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
                    for (var step = 0; step < 1000; step++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(32, 100, 2)), rand(32, 1));
                        loss.backward(); // gradients are ready here
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Clips_inside_a_dispose_scope_of_the_loop_body()
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
                        using (NewDisposeScope())
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(x), y);
                            loss.backward();
                            {|GD0001:optimizer.step()|};
                        }
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
                        using (NewDisposeScope())
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(x), y);
                            loss.backward();
                            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                            optimizer.step();
                        }
                    }
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Writes_nn_utils_under_using_static_torch_and_copies_a_concatenated_parameter_list()
    {
        await Verify.VerifyAsync(
            """
            using System.Linq;
            using static TorchSharp.torch;

            static class Program
            {
                static void Main()
                {
                    var gru = nn.GRU(8, 128, batchFirst: true);
                    var head = nn.Linear(128, 8);
                    var optimizer = optim.SGD(gru.parameters().Concat(head.parameters()), 0.01);
                    for (var epoch = 0; epoch < 20; epoch++)
                    {
                        optimizer.zero_grad();
                        var (output, _) = gru.call(randn(16, 40, 8));
                        var loss = nn.functional.cross_entropy(head.call(output.select(1, -1)), randint(0, 8, 16));
                        loss.backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """,
            """
            using System.Linq;
            using static TorchSharp.torch;

            static class Program
            {
                static void Main()
                {
                    var gru = nn.GRU(8, 128, batchFirst: true);
                    var head = nn.Linear(128, 8);
                    var optimizer = optim.SGD(gru.parameters().Concat(head.parameters()), 0.01);
                    for (var epoch = 0; epoch < 20; epoch++)
                    {
                        optimizer.zero_grad();
                        var (output, _) = gru.call(randn(16, 40, 8));
                        var loss = nn.functional.cross_entropy(head.call(output.select(1, -1)), randint(0, 8, 16));
                        loss.backward();
                        nn.utils.clip_grad_norm_(gru.parameters().Concat(head.parameters()), 1.0);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Uses_the_model_field_in_a_per_batch_method()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            sealed class SequenceTrainer
            {
                private readonly Seq2One model = new(2, 64);
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer()
                {
                    optimizer = optim.RMSProp(model.parameters(), lr: 1e-3);
                }

                public void TrainBatch(Tensor inputs, Tensor targets)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(inputs), targets).backward();
                    {|GD0001:optimizer.step()|};
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            sealed class SequenceTrainer
            {
                private readonly Seq2One model = new(2, 64);
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer()
                {
                    optimizer = optim.RMSProp(model.parameters(), lr: 1e-3);
                }

                public void TrainBatch(Tensor inputs, Tensor targets)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(inputs), targets).backward();
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                    optimizer.step();
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Falls_back_to_the_optimizer_parameters_when_the_model_is_out_of_scope()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            sealed class SequenceTrainer
            {
                private readonly nn.Module<Tensor, Tensor> network;
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer(long hidden)
                {
                    var lstmModel = new Seq2One(2, hidden);
                    network = lstmModel;
                    optimizer = optim.Adam(lstmModel.parameters());
                }

                public void TrainBatch(Tensor inputs, Tensor targets)
                {
                    optimizer.zero_grad();
                    var loss = nn.functional.mse_loss(network.call(inputs), targets);
                    loss.backward();
                    {|GD0001:optimizer.step()|};
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            sealed class SequenceTrainer
            {
                private readonly nn.Module<Tensor, Tensor> network;
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer(long hidden)
                {
                    var lstmModel = new Seq2One(2, hidden);
                    network = lstmModel;
                    optimizer = optim.Adam(lstmModel.parameters());
                }

                public void TrainBatch(Tensor inputs, Tensor targets)
                {
                    optimizer.zero_grad();
                    var loss = nn.functional.mse_loss(network.call(inputs), targets);
                    loss.backward();
                    torch.nn.utils.clip_grad_norm_(optimizer.parameters(), 1.0);
                    optimizer.step();
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Clips_the_optimizer_parameters_when_it_comes_from_a_user_factory()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                static optim.Optimizer CreateOptimizer(Seq2One model, double learningRate) => optim.Adam(model.parameters(), learningRate);

                public static void Train(Seq2One model)
                {
                    var optimizer = CreateOptimizer(model, 1e-3);
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            static class Trainer
            {
                static optim.Optimizer CreateOptimizer(Seq2One model, double learningRate) => optim.Adam(model.parameters(), learningRate);

                public static void Train(Seq2One model)
                {
                    var optimizer = CreateOptimizer(model, 1e-3);
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        torch.nn.utils.clip_grad_norm_(optimizer.parameters(), 1.0);
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Adds_using_TorchSharp_only_when_nothing_else_binds()
    {
        await Verify.VerifyAsync(
            """
            using System;

            static class Program
            {
                static void Main()
                {
                    var lstm = TorchSharp.torch.nn.LSTM(1, 8);
                    var optimizer = TorchSharp.torch.optim.Adam(lstm.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        var (output, _, _) = lstm.call(TorchSharp.torch.randn(5, 2, 1));
                        var loss = output.pow(2).mean();
                        loss.backward();
                        {|GD0001:optimizer.step()|};
                        Console.WriteLine(loss.item<float>());
                    }
                }
            }
            """,
            """
            using System;
            using TorchSharp;

            static class Program
            {
                static void Main()
                {
                    var lstm = TorchSharp.torch.nn.LSTM(1, 8);
                    var optimizer = TorchSharp.torch.optim.Adam(lstm.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        var (output, _, _) = lstm.call(TorchSharp.torch.randn(5, 2, 1));
                        var loss = output.pow(2).mean();
                        loss.backward();
                        torch.nn.utils.clip_grad_norm_(lstm.parameters(), 1.0);
                        optimizer.step();
                        Console.WriteLine(loss.item<float>());
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Writes_the_configured_default_clip_norm()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        {|GD0001:optimizer.step()|};
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
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25);
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            "gradient_diagnostics.default_clip_norm = 0.25\n");
    }

    [Fact]
    public async Task Writes_a_whole_number_clip_norm_as_a_double_literal()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        {|GD0001:optimizer.step()|};
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
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0);
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            "gradient_diagnostics.default_clip_norm = 5\n");
    }

    [Fact]
    public async Task Fix_all_clips_every_training_method_of_the_document()
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
                        nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1)).backward();
                        {|GD0001:optimizer.step()|};
                    }
                }

                public static void FineTune(Forecaster model)
                {
                    var optimizer = optim.SGD(model.parameters(), 1e-4);
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.l1_loss(model.call(randn(8, 24, 4)), randn(8, 1));
                        loss.backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """ + TrainingModels.Seq2One + TrainingModels.Forecaster,
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

                public static void FineTune(Forecaster model)
                {
                    var optimizer = optim.SGD(model.parameters(), 1e-4);
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.l1_loss(model.call(randn(8, 24, 4)), randn(8, 1));
                        loss.backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Seq2One + TrainingModels.Forecaster);
    }

    [Fact]
    public async Task One_clip_after_the_shared_backward_fixes_two_recurrent_optimizers()
    {
        var test = new Verify.Test
        {
            TestCode = TrainingModels.Usings + """
                static class Seq2SeqTrainer
                {
                    public static void Train()
                    {
                        var encoder = nn.LSTM(16, 64, batchFirst: true);
                        var decoder = nn.GRUCell(16, 64);
                        var encoderOptimizer = optim.Adam(encoder.parameters());
                        var decoderOptimizer = optim.Adam(decoder.parameters());
                        for (var i = 0; i < 500; i++)
                        {
                            encoderOptimizer.zero_grad();
                            decoderOptimizer.zero_grad();
                            var (_, h, _) = encoder.call(randn(30, 8, 16));
                            var state = decoder.call(randn(8, 16), h[0]);
                            var loss = state.pow(2).mean();
                            loss.backward();
                            {|GD0001:encoderOptimizer.step()|};
                            {|GD0001:decoderOptimizer.step()|};
                        }
                    }
                }
                """,
            FixedCode = TrainingModels.Usings + """
                static class Seq2SeqTrainer
                {
                    public static void Train()
                    {
                        var encoder = nn.LSTM(16, 64, batchFirst: true);
                        var decoder = nn.GRUCell(16, 64);
                        var encoderOptimizer = optim.Adam(encoder.parameters());
                        var decoderOptimizer = optim.Adam(decoder.parameters());
                        for (var i = 0; i < 500; i++)
                        {
                            encoderOptimizer.zero_grad();
                            decoderOptimizer.zero_grad();
                            var (_, h, _) = encoder.call(randn(30, 8, 16));
                            var state = decoder.call(randn(8, 16), h[0]);
                            var loss = state.pow(2).mean();
                            loss.backward();
                            torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0);
                            encoderOptimizer.step();
                            decoderOptimizer.step();
                        }
                    }
                }
                """,
            BatchFixedCode = TrainingModels.Usings + """
                static class Seq2SeqTrainer
                {
                    public static void Train()
                    {
                        var encoder = nn.LSTM(16, 64, batchFirst: true);
                        var decoder = nn.GRUCell(16, 64);
                        var encoderOptimizer = optim.Adam(encoder.parameters());
                        var decoderOptimizer = optim.Adam(decoder.parameters());
                        for (var i = 0; i < 500; i++)
                        {
                            encoderOptimizer.zero_grad();
                            decoderOptimizer.zero_grad();
                            var (_, h, _) = encoder.call(randn(30, 8, 16));
                            var state = decoder.call(randn(8, 16), h[0]);
                            var loss = state.pow(2).mean();
                            loss.backward();
                            torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0);
                            torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0);
                            encoderOptimizer.step();
                            decoderOptimizer.step();
                        }
                    }
                }
                """,
        };

        // One fix satisfies both steps; Fix All fixes each diagnostic, so it clips each optimizer's parameters.
        await test.RunAsync();
    }

    [Fact]
    public async Task Fixes_top_level_statements()
    {
        var test = new Verify.Test
        {
            TestState = { OutputKind = OutputKind.ConsoleApplication },
            TestCode = """
                using TorchSharp;
                using static TorchSharp.torch;

                var rnn = nn.RNN(1, 16, batchFirst: true);
                var optimizer = optim.SGD(rnn.parameters(), 0.05);
                for (var step = 0; step < 20; step++)
                {
                    optimizer.zero_grad();
                    var (output, _) = rnn.call(randn(4, 50, 1));
                    var loss = output.pow(2).mean();
                    loss.backward();
                    {|GD0001:optimizer.step()|};
                }
                """,
            FixedState = { OutputKind = OutputKind.ConsoleApplication },
            FixedCode = """
                using TorchSharp;
                using static TorchSharp.torch;

                var rnn = nn.RNN(1, 16, batchFirst: true);
                var optimizer = optim.SGD(rnn.parameters(), 0.05);
                for (var step = 0; step < 20; step++)
                {
                    optimizer.zero_grad();
                    var (output, _) = rnn.call(randn(4, 50, 1));
                    var loss = output.pow(2).mean();
                    loss.backward();
                    torch.nn.utils.clip_grad_norm_(rnn.parameters(), 1.0);
                    optimizer.step();
                }
                """,
        };
        await test.RunAsync();
    }

    [Fact]
    public async Task Clips_inside_an_LBFGS_closure()
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
                        {|GD0001:optimizer.step(() =>
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(x), y);
                            loss.backward();
                            return loss;
                        })|};
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
    public async Task Offers_no_fix_when_backward_is_not_a_statement_of_its_own()
    {
        var source = TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model, bool training)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1));
                        if (training) loss.backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """ + TrainingModels.Seq2One;
        await Verify.VerifyAsync(source, source);
    }
}
