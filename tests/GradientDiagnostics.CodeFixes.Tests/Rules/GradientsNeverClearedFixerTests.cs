using GradientDiagnostics.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpCodeFixVerifier<GradientDiagnostics.Analyzers.GradientsNeverClearedAnalyzer, GradientDiagnostics.CodeFixes.GradientsNeverClearedFixer>;

namespace GradientDiagnostics.CodeFixes.Tests.Rules;

public class GradientsNeverClearedFixerTests
{
    [Fact]
    public async Task Clears_gradients_at_the_top_of_the_loop_body()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Mlp(10, 32, 1);
                    var optimizer = optim.SGD(model.parameters(), 0.01);
                    foreach (var (x, y) in batches)
                    {
                        // forward
                        var loss = nn.functional.mse_loss(model.call(x), y);
                        loss.backward();
                        {|GD0008:optimizer.step()|};
                    }
                }
            }
            """ + TrainingModels.Mlp,
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Mlp(10, 32, 1);
                    var optimizer = optim.SGD(model.parameters(), 0.01);
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        // forward
                        var loss = nn.functional.mse_loss(model.call(x), y);
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Mlp);
    }

    [Fact]
    public async Task Clears_the_optimizer_property_of_the_inner_batch_loop()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            sealed class Experiment
            {
                public Experiment()
                {
                    Model = new Seq2One(2, 32);
                    Optimizer = optim.Adam(Model.parameters());
                }

                public Seq2One Model { get; }

                public optim.Optimizer Optimizer { get; }

                public void Run(int epochs, IReadOnlyList<(Tensor X, Tensor Y)> batches)
                {
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        Optimizer.zero_grad();
                        for (var b = 0; b < batches.Count; b++)
                        {
                            nn.functional.mse_loss(Model.call(batches[b].X), batches[b].Y).backward();
                            torch.nn.utils.clip_grad_norm_(Model.parameters(), 1.0);
                            {|GD0008:Optimizer.step()|};
                        }
                    }
                }
            }
            """ + TrainingModels.Seq2One,
            TrainingModels.Usings + """
            sealed class Experiment
            {
                public Experiment()
                {
                    Model = new Seq2One(2, 32);
                    Optimizer = optim.Adam(Model.parameters());
                }

                public Seq2One Model { get; }

                public optim.Optimizer Optimizer { get; }

                public void Run(int epochs, IReadOnlyList<(Tensor X, Tensor Y)> batches)
                {
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        Optimizer.zero_grad();
                        for (var b = 0; b < batches.Count; b++)
                        {
                            Optimizer.zero_grad();
                            nn.functional.mse_loss(Model.call(batches[b].X), batches[b].Y).backward();
                            torch.nn.utils.clip_grad_norm_(Model.parameters(), 1.0);
                            Optimizer.step();
                        }
                    }
                }
            }
            """ + TrainingModels.Seq2One);
    }

    [Fact]
    public async Task Clears_a_loop_whose_body_is_a_dispose_scope()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Mlp model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        using var scope = NewDisposeScope();
                        nn.functional.mse_loss(model.call(x), y).backward();
                        {|GD0008:optimizer.step()|};
                    }
                }
            }
            """ + TrainingModels.Mlp,
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Mlp model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        using var scope = NewDisposeScope();
                        nn.functional.mse_loss(model.call(x), y).backward();
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Mlp);
    }

    [Fact]
    public async Task Clears_a_do_while_loop()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Program
            {
                static void Main()
                {
                    var rnn = nn.GRU(1, 16, batchFirst: true);
                    var optimizer = optim.Adam(rnn.parameters());
                    var step = 0;
                    do
                    {
                        var (output, _) = rnn.call(randn(4, 20, 1));
                        output.pow(2).mean().backward();
                        {|GD0008:optimizer.step()|};
                    }
                    while (++step < 50);
                }
            }
            """,
            TrainingModels.Usings + """
            static class Program
            {
                static void Main()
                {
                    var rnn = nn.GRU(1, 16, batchFirst: true);
                    var optimizer = optim.Adam(rnn.parameters());
                    var step = 0;
                    do
                    {
                        optimizer.zero_grad();
                        var (output, _) = rnn.call(randn(4, 20, 1));
                        output.pow(2).mean().backward();
                        optimizer.step();
                    }
                    while (++step < 50);
                }
            }
            """);
    }

    [Fact]
    public async Task Fix_all_clears_each_uncleared_optimizer()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Mlp generator, Mlp critic)
                {
                    var generatorOptimizer = optim.Adam(generator.parameters());
                    var criticOptimizer = optim.Adam(critic.parameters());
                    for (var i = 0; i < 1000; i++)
                    {
                        var loss = critic.call(generator.call(randn(8, 16))).mean();
                        loss.backward();
                        {|GD0008:generatorOptimizer.step()|};
                        {|GD0008:criticOptimizer.step()|};
                    }
                }

                public static void Pretrain(Mlp critic)
                {
                    var optimizer = optim.SGD(critic.parameters(), 0.1);
                    while (true)
                    {
                        critic.call(randn(8, 32)).mean().backward();
                        {|GD0008:optimizer.step()|};
                    }
                }
            }
            """ + TrainingModels.Mlp,
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Mlp generator, Mlp critic)
                {
                    var generatorOptimizer = optim.Adam(generator.parameters());
                    var criticOptimizer = optim.Adam(critic.parameters());
                    for (var i = 0; i < 1000; i++)
                    {
                        generatorOptimizer.zero_grad();
                        criticOptimizer.zero_grad();
                        var loss = critic.call(generator.call(randn(8, 16))).mean();
                        loss.backward();
                        generatorOptimizer.step();
                        criticOptimizer.step();
                    }
                }

                public static void Pretrain(Mlp critic)
                {
                    var optimizer = optim.SGD(critic.parameters(), 0.1);
                    while (true)
                    {
                        optimizer.zero_grad();
                        critic.call(randn(8, 32)).mean().backward();
                        optimizer.step();
                    }
                }
            }
            """ + TrainingModels.Mlp);
    }

    [Fact]
    public async Task Offers_no_fix_when_the_optimizer_is_created_inside_the_loop()
    {
        var source = TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Mlp model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    foreach (var (x, y) in batches)
                    {
                        nn.functional.mse_loss(model.call(x), y).backward();
                        var optimizer = optim.SGD(model.parameters(), 0.01);
                        {|GD0008:optimizer.step()|};
                    }
                }
            }
            """ + TrainingModels.Mlp;
        await Verify.VerifyAsync(source, source);
    }

    [Fact]
    public async Task Clears_the_optimizer_a_per_batch_helper_steps_at_the_top_of_the_calling_loop()
    {
        const string Helper = """
            sealed class Regressor
            {
                private readonly Mlp net = new(3, 32, 1);
                private readonly optim.Optimizer optimizer;

                public Regressor() => optimizer = optim.SGD(net.parameters(), 0.01);

                private void Update(Tensor x, Tensor y)
                {
                    nn.functional.mse_loss(net.call(x), y).backward();
                    optimizer.step();
                }

            """;
        await Verify.VerifyAsync(
            TrainingModels.Usings + Helper + """
                public void Fit(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    foreach (var (x, y) in batches)
                    {
                        {|GD0008:this.Update(x, y)|};
                    }
                }
            }
            """ + TrainingModels.Mlp,
            TrainingModels.Usings + Helper + """
                public void Fit(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        this.Update(x, y);
                    }
                }
            }
            """ + TrainingModels.Mlp);
    }

    [Fact]
    public async Task Offers_no_fix_when_the_helper_steps_an_optimizer_passed_to_it()
    {
        var source = TrainingModels.Usings + """
            static class Trainer
            {
                private static void Update(Mlp model, optim.Optimizer opt, Tensor x, Tensor y)
                {
                    nn.functional.mse_loss(model.call(x), y).backward();
                    opt.step();
                }

                public static void Train(Mlp model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.SGD(model.parameters(), 0.01);
                    foreach (var (x, y) in batches)
                    {
                        {|GD0008:Update(model, optimizer, x, y)|};
                    }
                }
            }
            """ + TrainingModels.Mlp;
        await Verify.VerifyAsync(source, source);
    }
}
