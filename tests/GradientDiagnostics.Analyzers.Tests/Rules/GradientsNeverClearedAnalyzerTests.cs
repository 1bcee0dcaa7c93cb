using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.GradientsNeverClearedAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

public class GradientsNeverClearedAnalyzerTests
{
    private const string Models = TrainingModels.Seq2One + TrainingModels.Mlp;

    private static Task VerifyAsync(string code, params DiagnosticResult[] expected) =>
        Verify.VerifyAsync(TrainingModels.Usings + code + Models, expected);

    // ---- positive ----

    [Fact]
    public async Task Reports_the_step_of_a_loop_that_never_clears_gradients()
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
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        loss.backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        {|#0:optimizer.step()|};
                    }
                }
            }
            """,
            Verify.Diagnostic("GD0008").WithLocation(0).WithArguments("optimizer.step()").WithOptions(DiagnosticOptions.IgnoreAdditionalLocations));
    }

    [Fact]
    public async Task Reports_a_zero_grad_before_the_loop_only()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Mlp(10, 32, 1);
                    var optimizer = optim.SGD(model.parameters(), 0.01);
                    optimizer.zero_grad();
                    foreach (var (x, y) in batches)
                    {
                        nn.functional.mse_loss(model.call(x), y).backward();
                        {|GD0008:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_an_inner_batch_loop_when_zero_grad_runs_once_per_epoch()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(int epochs, IReadOnlyList<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        optimizer.zero_grad();
                        for (var b = 0; b < batches.Count; b++)
                        {
                            var loss = nn.functional.mse_loss(model.call(batches[b].X), batches[b].Y);
                            loss.backward();
                            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                            {|GD0008:optimizer.step()|};
                        }
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_while_loop_with_optimizer_and_model_in_fields()
    {
        await VerifyAsync("""
            sealed class Trainer
            {
                private readonly Mlp model = new(4, 16, 1);
                private readonly optim.Optimizer optimizer;

                public Trainer() => optimizer = optim.RMSProp(model.parameters());

                public void Fit(Func<(Tensor X, Tensor Y)?> nextBatch)
                {
                    while (nextBatch() is { } batch)
                    {
                        var loss = nn.functional.mse_loss(model.call(batch.X), batch.Y);
                        loss.backward();
                        {|GD0008:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_the_optimizer_that_is_not_cleared_when_only_the_other_one_is()
    {
        await VerifyAsync("""
            static class GanTrainer
            {
                public static void Train()
                {
                    var generator = new Mlp(16, 64, 32);
                    var critic = new Mlp(32, 64, 1);
                    var generatorOptimizer = optim.Adam(generator.parameters());
                    var criticOptimizer = optim.Adam(critic.parameters());
                    for (var i = 0; i < 1000; i++)
                    {
                        generatorOptimizer.zero_grad();
                        var loss = critic.call(generator.call(randn(8, 16))).mean();
                        loss.backward();
                        generatorOptimizer.step();
                        {|GD0008:criticOptimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_do_while_loop_in_top_level_code_style()
    {
        await VerifyAsync("""
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
                        nn.utils.clip_grad_norm_(rnn.parameters(), 1.0);
                        {|GD0008:optimizer.step()|};
                    }
                    while (++step < 50);
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_property_optimizer()
    {
        await VerifyAsync("""
            sealed class Experiment
            {
                public Experiment()
                {
                    Model = new Mlp(8, 8, 1);
                    Optimizer = optim.SGD(Model.parameters(), 0.1, momentum: 0.9);
                }

                public Mlp Model { get; }

                public optim.Optimizer Optimizer { get; }

                public void Run(IEnumerable<(Tensor X, Tensor Y)> data)
                {
                    foreach (var (x, y) in data)
                    {
                        nn.functional.mse_loss(Model.call(x), y).backward();
                        {|GD0008:Optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_conditional_step_without_any_zero_grad()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IReadOnlyList<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Mlp(10, 32, 1);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < batches.Count; i++)
                    {
                        (nn.functional.mse_loss(model.call(batches[i].X), batches[i].Y) / 4).backward();
                        if ((i + 1) % 4 == 0)
                        {
                            {|GD0008:optimizer.step()|};
                        }
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_TBPTT_loop_that_detaches_but_never_clears()
    {
        await VerifyAsync("""
            static class CharModel
            {
                public static void Train(Tensor text)
                {
                    var cell = nn.GRUCell(64, 128);
                    var decoder = nn.Linear(128, 64);
                    var optimizer = optim.Adam(cell.parameters().Concat(decoder.parameters()));
                    var h = zeros(1, 128);
                    for (var start = 0; start + 17 < text.shape[0]; start += 16)
                    {
                        h = h.detach();
                        var loss = zeros(1);
                        for (var t = start; t < start + 16; t++)
                        {
                            h = cell.call(text[t].unsqueeze(0), h);
                            loss = loss + nn.functional.cross_entropy(decoder.call(h), text[t + 1].argmax().unsqueeze(0));
                        }

                        loss.backward();
                        torch.nn.utils.clip_grad_norm_(cell.parameters(), 1.0);
                        {|GD0008:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_when_the_only_zero_grad_is_after_the_loop()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Mlp(10, 32, 1);
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        nn.functional.mse_loss(model.call(x), y).backward();
                        {|GD0008:optimizer.step()|};
                    }

                    optimizer.zero_grad();
                }
            }
            """);
    }

    // ---- negative ----

    [Fact]
    public async Task Reports_a_loop_calling_a_per_batch_helper_that_never_clears()
    {
        await VerifyAsync("""
            sealed class Regressor
            {
                private readonly Mlp net = new(3, 32, 1);
                private readonly optim.Optimizer optimizer;

                public Regressor() => optimizer = optim.SGD(net.parameters(), 0.01);

                private float Update(Tensor x, Tensor y)
                {
                    var loss = nn.functional.mse_loss(net.call(x), y);
                    loss.backward();
                    optimizer.step();
                    return loss.item<float>();
                }

                public void Fit(Tensor x, Tensor y, int epochs)
                {
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        var loss = {|GD0008:Update(x, y)|};
                        if (epoch % 10 == 0) Console.WriteLine($"{epoch}: {loss}");
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_the_innermost_loop_calling_a_helper_that_steps_through_another_helper()
    {
        await VerifyAsync("""
            static class Steps
            {
                public static void Apply(Tensor loss, optim.Optimizer optimizer)
                {
                    loss.backward();
                    optimizer.step();
                }

                public static void TrainBatch(Mlp model, optim.Optimizer optimizer, Tensor x, Tensor y) =>
                    Apply(nn.functional.mse_loss(model.call(x), y), optimizer);
            }

            static class Trainer
            {
                public static void Train(Mlp model, IReadOnlyList<(Tensor X, Tensor Y)> batches, int epochs)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        optimizer.zero_grad();
                        foreach (var (x, y) in batches)
                        {
                            {|GD0008:Steps.TrainBatch(model, optimizer, x, y)|};
                        }
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_loop_clearing_before_calling_a_step_helper_is_fine()
    {
        await VerifyAsync("""
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

                public void Fit(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        Update(x, y);
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_step_helper_with_its_own_loop_is_judged_there_only()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void RunEpoch(Mlp model, optim.Optimizer optimizer, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    foreach (var (x, y) in batches)
                    {
                        nn.functional.mse_loss(model.call(x), y).backward();
                        {|GD0008:optimizer.step()|};
                    }
                }

                public static void Fit(Mlp model, IEnumerable<(Tensor X, Tensor Y)> batches, int epochs)
                {
                    var optimizer = optim.Adam(model.parameters());
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        RunEpoch(model, optimizer, batches);
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_step_helper_called_outside_any_loop_is_not_judged()
    {
        await VerifyAsync("""
            static class Trainer
            {
                private static void Update(Mlp model, optim.Optimizer optimizer, Tensor x, Tensor y)
                {
                    nn.functional.mse_loss(model.call(x), y).backward();
                    optimizer.step();
                }

                public static void FineTuneOnce(Mlp model, Tensor x, Tensor y) =>
                    Update(model, optim.SGD(model.parameters(), 0.01), x, y);
            }
            """);
    }

    [Fact]
    public async Task Optimizer_zero_grad_in_the_loop_clears_gradients()
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
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Module_zero_grad_clears_gradients()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Mlp(10, 32, 1);
                    var optimizer = optim.SGD(model.parameters(), 0.01);
                    foreach (var (x, y) in batches)
                    {
                        model.zero_grad();
                        nn.functional.mse_loss(model.call(x), y).backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Zero_grad_after_step_clears_gradients_for_the_next_iteration()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Mlp(10, 32, 1);
                    var optimizer = optim.SGD(model.parameters(), 0.01);
                    foreach (var (x, y) in batches)
                    {
                        nn.functional.mse_loss(model.call(x), y).backward();
                        optimizer.step();
                        optimizer.zero_grad();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Deliberate_gradient_accumulation_is_fine()
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
    public async Task Zero_grad_in_a_helper_counts()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Mlp(10, 32, 1);
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        ResetGradients(optimizer);
                        nn.functional.mse_loss(model.call(x), y).backward();
                        optimizer.step();
                    }
                }

                private static void ResetGradients(optim.Optimizer optimizer) => optimizer.zero_grad();
            }
            """);
    }

    [Fact]
    public async Task Clearing_each_parameter_gradient_by_hand_counts()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Mlp(10, 32, 1);
                    var optimizer = optim.SGD(model.parameters(), 0.01);
                    foreach (var (x, y) in batches)
                    {
                        nn.functional.mse_loss(model.call(x), y).backward();
                        optimizer.step();
                        foreach (var parameter in model.parameters())
                        {
                            parameter.grad?.zero_();
                        }
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Two_optimizers_each_cleared_are_fine()
    {
        await VerifyAsync("""
            static class GanTrainer
            {
                public static void Train()
                {
                    var generator = new Mlp(16, 64, 32);
                    var critic = new Mlp(32, 64, 1);
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
            }
            """);
    }

    [Fact]
    public async Task A_per_batch_method_without_a_loop_is_not_judged()
    {
        await VerifyAsync("""
            sealed class Trainer
            {
                private readonly Mlp model = new(4, 16, 1);
                private readonly optim.Optimizer optimizer;

                public Trainer() => optimizer = optim.Adam(model.parameters());

                public void TrainBatch(Tensor x, Tensor y)
                {
                    nn.functional.mse_loss(model.call(x), y).backward();
                    optimizer.step();
                }
            }
            """);
    }

    [Fact]
    public async Task A_loop_that_calls_a_per_batch_method_is_not_judged_by_its_body()
    {
        await VerifyAsync("""
            sealed class Trainer
            {
                private readonly Mlp model = new(4, 16, 1);
                private readonly optim.Optimizer optimizer;

                public Trainer() => optimizer = optim.Adam(model.parameters());

                public void Fit(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    foreach (var (x, y) in batches)
                    {
                        TrainBatch(x, y);
                    }
                }

                private void TrainBatch(Tensor x, Tensor y)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    optimizer.step();
                }
            }
            """);
    }

    [Fact]
    public async Task An_LBFGS_closure_that_clears_gradients_is_fine()
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
                            loss.backward();
                            return loss;
                        });
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_loop_without_step_is_not_a_training_loop()
    {
        await VerifyAsync("""
            static class Probe
            {
                public static void Accumulate(Mlp model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.SGD(model.parameters(), 0.1);
                    foreach (var (x, y) in batches)
                    {
                        nn.functional.mse_loss(model.call(x), y).backward();
                    }

                    optimizer.step();
                    optimizer.zero_grad();
                }
            }
            """);
    }
}
