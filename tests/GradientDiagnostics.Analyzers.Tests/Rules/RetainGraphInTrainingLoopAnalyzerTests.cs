using GradientDiagnostics.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.RetainGraphInTrainingLoopAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

public class RetainGraphInTrainingLoopAnalyzerTests
{
    private const string Models = TrainingModels.Seq2One + TrainingModels.Mlp;

    private static Task VerifyAsync(string code) => Verify.VerifyAsync(TrainingModels.Usings + code + Models);

    // ---- positive ----

    [Fact]
    public async Task Reports_retain_graph_in_a_TBPTT_loop_that_carries_the_hidden_state()
    {
        await VerifyAsync("""
            static class Program
            {
                static void Main()
                {
                    var rnn = nn.RNN(1, 16, batchFirst: true);
                    var head = nn.Linear(16, 1);
                    var optimizer = optim.SGD(rnn.parameters().Concat(head.parameters()), 0.05);
                    Tensor? hidden = null;
                    for (var step = 0; step < 20; step++)
                    {
                        optimizer.zero_grad();
                        var (output, h) = rnn.call(randn(4, 50, 1), hidden);
                        hidden = h;
                        var loss = nn.functional.mse_loss(head.call(output.select(1, -1)), zeros(4, 1));
                        {|GD0009:loss.backward(retain_graph: true)|};
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_positional_constant_true()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Seq2One(2, 32);
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(x), y);
                        {|GD0009:loss.backward(null, true)|};
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_while_loop_with_fields()
    {
        await VerifyAsync("""
            sealed class OnlineLearner
            {
                private readonly Seq2One model = new(1, 8);
                private readonly optim.Optimizer optimizer;

                public OnlineLearner() => optimizer = optim.Adam(model.parameters());

                public void Run(Func<bool> more)
                {
                    while (more())
                    {
                        optimizer.zero_grad();
                        var loss = model.call(randn(1, 10, 1)).pow(2).sum();
                        {|GD0009:loss.backward(retain_graph: true, create_graph: false)|};
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_do_while_loop()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Mlp(4, 8, 1);
                    var optimizer = optim.SGD(model.parameters(), 0.1);
                    var i = 0;
                    do
                    {
                        optimizer.zero_grad();
                        {|GD0009:model.call(randn(2, 4)).mean().backward(retain_graph: true)|};
                        optimizer.step();
                    }
                    while (++i < 10);
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_the_inner_batch_loop_of_an_epoch_loop()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(int epochs, IReadOnlyList<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Seq2One(2, 32);
                    var optimizer = optim.Adam(model.parameters());
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        for (var b = 0; b < batches.Count; b++)
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(batches[b].X), batches[b].Y);
                            {|GD0009:loss.backward(retain_graph: true)|};
                            optimizer.step();
                        }
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_when_the_step_is_in_an_outer_loop()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IEnumerable<IReadOnlyList<Tensor>> episodes)
                {
                    var model = new Mlp(4, 8, 1);
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var episode in episodes)
                    {
                        optimizer.zero_grad();
                        foreach (var observation in episode)
                        {
                            {|GD0009:model.call(observation).sum().backward(retain_graph: true)|};
                        }

                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_every_retaining_backward_of_an_iteration()
    {
        await VerifyAsync("""
            static class MultiTask
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 16);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var prediction = model.call(rand(4, 10, 2));
                        {|GD0009:nn.functional.mse_loss(prediction, rand(4, 1)).backward(retain_graph: true)|};
                        {|GD0009:prediction.abs().mean().backward(retain_graph: true)|};
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_per_batch_loop_in_a_local_function()
    {
        await VerifyAsync("""
            static class Program
            {
                static void Main()
                {
                    var model = new Seq2One(1, 8);
                    var optimizer = optim.Adam(model.parameters());
                    RunEpoch(5);

                    void RunEpoch(int batches)
                    {
                        for (var b = 0; b < batches; b++)
                        {
                            optimizer.zero_grad();
                            {|GD0009:model.call(randn(2, 5, 1)).sum().backward(retain_graph: true)|};
                            optimizer.step();
                        }
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_an_LBFGS_closure_in_a_loop()
    {
        await VerifyAsync("""
            static class Fit
            {
                public static void Run()
                {
                    var model = new Mlp(3, 32, 1);
                    var optimizer = optim.LBFGS(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.step(() =>
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(randn(16, 3)), randn(16, 1));
                            {|GD0009:loss.backward(retain_graph: true)|};
                            return loss;
                        });
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_with_using_static_nn()
    {
        await Verify.VerifyAsync("""
            using TorchSharp;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            static class Program
            {
                static void Main()
                {
                    var lstm = LSTM(3, 12);
                    var optimizer = optim.Adam(lstm.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        var (output, _, _) = lstm.call(randn(7, 2, 3));
                        {|GD0009:output.sum().backward(retain_graph: true)|};
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_retaining_for_a_second_loss_in_the_same_iteration()
    {
        await VerifyAsync("""
            static class MultiTask
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 16);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var prediction = model.call(rand(4, 10, 2));
                        {|GD0009:nn.functional.mse_loss(prediction, rand(4, 1)).backward(retain_graph: true)|};
                        prediction.abs().mean().backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_GAN_loop_whose_discriminator_loss_retains_the_generator_graph()
    {
        await VerifyAsync("""
            static class Gan
            {
                public static void Train(int iterations)
                {
                    var generator = new Mlp(8, 16, 4);
                    var discriminator = new Mlp(4, 16, 1);
                    var optG = optim.Adam(generator.parameters());
                    var optD = optim.Adam(discriminator.parameters());
                    for (var i = 0; i < iterations; i++)
                    {
                        optD.zero_grad();
                        optG.zero_grad();
                        var fake = generator.call(randn(16, 8));
                        var lossD = nn.functional.softplus(discriminator.call(fake)).mean();
                        {|GD0009:lossD.backward(retain_graph: true)|};
                        optD.step();
                        var lossG = nn.functional.softplus(-discriminator.call(fake)).mean();
                        lossG.backward();
                        optG.step();
                    }
                }
            }
            """);
    }

    // ---- negative ----

    [Fact]
    public async Task Retain_graph_false_is_fine()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 32);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        model.call(rand(4, 10, 2)).sum().backward(retain_graph: false);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Plain_backward_is_fine()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 32);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        model.call(rand(4, 10, 2)).sum().backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Retain_graph_outside_a_loop_is_fine()
    {
        await VerifyAsync("""
            sealed class Trainer
            {
                private readonly Seq2One model = new(2, 32);
                private readonly optim.Optimizer optimizer;

                public Trainer() => optimizer = optim.Adam(model.parameters());

                public void TrainBatch(Tensor x, Tensor y)
                {
                    optimizer.zero_grad();
                    var prediction = model.call(x);
                    nn.functional.mse_loss(prediction, y).backward(retain_graph: true);
                    prediction.abs().mean().backward();
                    optimizer.step();
                }
            }
            """);
    }

    [Fact]
    public async Task A_loop_without_an_optimizer_step_is_not_a_training_loop()
    {
        await VerifyAsync("""
            static class Jacobian
            {
                public static Tensor Rows(Mlp model, Tensor x)
                {
                    var input = x.detach().requires_grad_(true);
                    var output = model.call(input);
                    var rows = new List<Tensor>();
                    for (var i = 0; i < output.shape[1]; i++)
                    {
                        input.grad?.zero_();
                        output.select(1, i).sum().backward(retain_graph: true);
                        rows.Add(input.grad!.clone());
                    }

                    var optimizer = optim.SGD(model.parameters(), 0.0);
                    optimizer.step();
                    return stack(rows);
                }
            }
            """);
    }

    [Fact]
    public async Task A_non_constant_retain_graph_is_not_judged()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(bool keepGraphForDebugging)
                {
                    var model = new Seq2One(2, 32);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        model.call(rand(4, 10, 2)).sum().backward(retain_graph: keepGraphForDebugging);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Create_graph_true_alone_is_not_retain_graph()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Mlp(4, 8, 1);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        model.call(randn(2, 4)).sum().backward(create_graph: true);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Retain_graph_in_a_loop_of_another_method_than_the_step_is_not_judged()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(Mlp model)
                {
                    var optimizer = optim.Adam(model.parameters());
                    optimizer.zero_grad();
                    var loss = model.call(randn(2, 4)).sum();
                    loss.backward(retain_graph: true);
                    optimizer.step();
                }

                public static void Many(Mlp model)
                {
                    for (var i = 0; i < 3; i++)
                    {
                        Train(model);
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_user_tensor_like_class_is_not_TorchSharp()
    {
        await VerifyAsync("""
            sealed class Graph
            {
                public void backward(bool retain_graph = false) { }
            }

            static class Trainer
            {
                public static void Train()
                {
                    var model = new Mlp(4, 8, 1);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        new Graph().backward(retain_graph: true);
                        model.call(randn(2, 4)).sum().backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Retain_graph_on_an_evaluation_pass_after_the_training_loop_is_fine()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Mlp(4, 8, 1);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        optimizer.zero_grad();
                        model.call(randn(2, 4)).sum().backward();
                        optimizer.step();
                    }

                    var output = model.call(randn(1, 4));
                    output.sum().backward(retain_graph: true);
                    output.mean().backward();
                }
            }
            """);
    }
}
