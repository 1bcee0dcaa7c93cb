using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.MissingGradientClippingAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

public class MissingGradientClippingAnalyzerTests
{
    private const string Models = TrainingModels.Seq2One + TrainingModels.Forecaster + TrainingModels.Mlp + TrainingModels.UserNamedLstm;

    private static Task VerifyAsync(string code, string? editorConfig = null) =>
        Verify.VerifyAsync(TrainingModels.Usings + code + Models, editorConfig);

    private static Task VerifyAsync(string code, params DiagnosticResult[] expected) =>
        Verify.VerifyAsync(TrainingModels.Usings + code + Models, expected);

    // ---- positive ----

    private const string AbstractSequenceModels = """

        abstract class SequenceModel : nn.Module<Tensor, Tensor>
        {
            protected SequenceModel(string name) : base(name) { }
        }

        sealed class LstmModel : SequenceModel
        {
            private readonly TorchSharp.Modules.LSTM lstm = nn.LSTM(2, 16, batchFirst: true);

            public LstmModel() : base(nameof(LstmModel)) => RegisterComponents();

            public override Tensor forward(Tensor x) => lstm.call(x).Item1;
        }

        sealed class GruModel : SequenceModel
        {
            private readonly TorchSharp.Modules.GRU gru = nn.GRU(2, 16, batchFirst: true);

            public GruModel() : base(nameof(GruModel)) => RegisterComponents();

            public override Tensor forward(Tensor x) => gru.call(x).Item1;
        }

        static class Trainer
        {
            public static void Train(SequenceModel model)
            {
                var optimizer = optim.Adam(model.parameters());
                for (var step = 0; step < 100; step++)
                {
                    optimizer.zero_grad();
                    model.call(rand(8, 10, 2)).sum().backward();
                    {|#0:optimizer.step()|};
                }
            }
        }
        """;

    [Fact]
    public async Task Reports_a_model_declared_as_an_abstract_base_whose_every_subclass_is_recurrent()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + AbstractSequenceModels,
            Verify.Diagnostic("GD0001").WithLocation(0).WithArguments("optimizer.step()").WithOptions(DiagnosticOptions.IgnoreAdditionalLocations));
    }

    private const string GenericTrainer = """

        sealed class RegressionTrainer<TModel> where TModel : nn.Module<Tensor, Tensor>
        {
            private readonly TModel model;
            private readonly optim.Optimizer optimizer;

            public RegressionTrainer(TModel model, double lr)
            {
                this.model = model;
                optimizer = optim.Adam(model.parameters(), lr);
            }

            public void Fit(IEnumerable<(Tensor X, Tensor Y)> data)
            {
                foreach (var (x, y) in data)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    {|#0:optimizer.step()|};
                }
            }
        }

        static class Program
        {
            public static void Main()
            {
                new RegressionTrainer<Seq2One>(new Seq2One(2, 16), 1e-3).Fit(new[] { (rand(8, 10, 2), rand(8, 1)) });
                var forecaster = new RegressionTrainer<Forecaster>(new Forecaster(), 1e-3);
            }
        }
        """;

    [Fact]
    public async Task Reports_a_generic_trainer_whose_every_model_type_argument_is_recurrent()
    {
        await VerifyAsync(GenericTrainer + "\n", Verify.Diagnostic("GD0001").WithLocation(0).WithArguments("optimizer.step()").WithOptions(DiagnosticOptions.IgnoreAdditionalLocations));
    }

    [Fact]
    public async Task A_generic_trainer_also_used_for_a_feed_forward_model_is_not_known_to_be_recurrent()
    {
        await VerifyAsync(GenericTrainer.Replace("{|#0:optimizer.step()|}", "optimizer.step()")
            .Replace("var forecaster = new RegressionTrainer<Forecaster>", "var baseline = new RegressionTrainer<Mlp>").Replace("new Forecaster()", "new Mlp(2, 8, 1)"));
    }

    [Fact]
    public async Task An_abstract_base_with_a_feed_forward_subclass_is_not_known_to_be_recurrent()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + AbstractSequenceModels.Replace("{|#0:optimizer.step()|}", "optimizer.step()") + """

            sealed class MlpModel : SequenceModel
            {
                private readonly TorchSharp.Modules.Linear linear = nn.Linear(2, 1);

                public MlpModel() : base(nameof(MlpModel)) => RegisterComponents();

                public override Tensor forward(Tensor x) => linear.call(x);
            }
            """);
    }

    [Fact]
    public async Task Reports_the_step_of_an_unclipped_LSTM_training_loop()
    {
        await VerifyAsync("""
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
                        loss.backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_per_batch_method_with_model_and_optimizer_in_fields()
    {
        await VerifyAsync("""
            sealed class SequenceTrainer
            {
                private readonly Seq2One model = new(2, 64);
                private readonly optim.Optimizer optimizer;

                public SequenceTrainer()
                {
                    optimizer = optim.RMSProp(model.parameters(), lr: 1e-3);
                }

                public float TrainBatch(Tensor inputs, Tensor targets)
                {
                    optimizer.zero_grad();
                    using var loss = nn.functional.mse_loss(model.call(inputs), targets);
                    loss.backward();
                    {|GD0001:optimizer.step()|};
                    return loss.item<float>();
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_an_optimizer_property_over_a_model_property()
    {
        await VerifyAsync("""
            sealed class Experiment
            {
                public Experiment()
                {
                    Model = new Seq2One(1, 32);
                    Optimizer = optim.AdamW(Model.parameters());
                }

                public Seq2One Model { get; }

                public TorchSharp.Modules.AdamW Optimizer { get; }

                public void Run(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    foreach (var (x, y) in batches)
                    {
                        Optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(Model.call(x), y);
                        loss.backward();
                        {|GD0001:Optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_an_optimizer_built_directly_from_a_GRU_and_a_head_with_using_static_nn()
    {
        await Verify.VerifyAsync("""
            using System.Linq;
            using TorchSharp;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            static class Program
            {
                static void Main()
                {
                    var gru = GRU(8, 128, batchFirst: true);
                    var head = Linear(128, 8);
                    var optimizer = optim.SGD(gru.parameters().Concat(head.parameters()), 0.01);
                    var epoch = 0;
                    while (epoch++ < 20)
                    {
                        optimizer.zero_grad();
                        var (output, _) = gru.call(randn(16, 40, 8));
                        var loss = functional.cross_entropy(head.call(output.select(1, -1)), randint(0, 8, 16));
                        loss.backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_model_that_is_recurrent_through_a_submodule_field()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(int epochs)
                {
                    var model = new Forecaster();
                    var optimizer = optim.Adam(model.parameters());
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        for (var batch = 0; batch < 100; batch++)
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.l1_loss(model.call(randn(8, 24, 4)), randn(8, 1));
                            loss.backward();
                            {|GD0001:optimizer.step()|};
                        }
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_hand_unrolled_LSTMCell_loop_with_truncated_BPTT_chunks()
    {
        await VerifyAsync("""
            static class CharModel
            {
                public static void Train(Tensor text)
                {
                    var cell = nn.LSTMCell(64, 256);
                    var decoder = nn.Linear(256, 64);
                    var optimizer = optim.Adam(cell.parameters().Concat(decoder.parameters()), 2e-3);
                    var h = zeros(1, 256);
                    var c = zeros(1, 256);
                    for (var start = 0; start + 33 < text.shape[0]; start += 32)
                    {
                        h = h.detach();
                        c = c.detach();
                        optimizer.zero_grad();
                        var loss = zeros(1);
                        for (var t = start; t < start + 32; t++)
                        {
                            (h, c) = cell.call(text[t].unsqueeze(0), (h, c));
                            loss = loss + nn.functional.cross_entropy(decoder.call(h), text[t + 1].argmax().unsqueeze(0));
                        }

                        loss.backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_through_a_recurrent_call_when_the_optimizer_comes_from_outside()
    {
        await VerifyAsync("""
            static class Loop
            {
                public static void RunEpoch(Seq2One model, optim.Optimizer optimizer, IEnumerable<(Tensor X, Tensor Y)> data)
                {
                    foreach (var (x, y) in data)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(x), y);
                        loss.backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_do_while_loop_over_a_vanilla_RNN_with_an_optimizer_created_by_new()
    {
        await VerifyAsync("""
            static class Program
            {
                static void Main()
                {
                    var rnn = nn.RNN(1, 16, batchFirst: true);
                    var optimizer = new TorchSharp.Modules.Adam(rnn.parameters(), 1e-3, 0.9, 0.999, 1e-8, 0, false, false);
                    double lossValue;
                    do
                    {
                        optimizer.zero_grad();
                        var (output, _) = rnn.call(randn(4, 200, 1));
                        var loss = output.pow(2).mean();
                        loss.backward();
                        {|GD0001:optimizer.step()|};
                        lossValue = loss.item<float>();
                    }
                    while (lossValue > 1e-3);
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_only_the_optimizer_of_the_recurrent_encoder_when_two_optimizers_step()
    {
        await VerifyAsync("""
            static class Seq2SeqTrainer
            {
                public static void Train()
                {
                    var encoder = nn.LSTM(16, 64, batchFirst: true);
                    var decoder = new Mlp(64, 64, 16);
                    var encoderOptimizer = optim.Adam(encoder.parameters(), 1e-3);
                    var decoderOptimizer = optim.Adam(decoder.parameters(), 1e-3);
                    for (var i = 0; i < 500; i++)
                    {
                        encoderOptimizer.zero_grad();
                        decoderOptimizer.zero_grad();
                        var (output, _, _) = encoder.call(randn(8, 30, 16));
                        var loss = nn.functional.mse_loss(decoder.call(output.select(1, -1)), randn(8, 16));
                        loss.backward();
                        {|GD0001:encoderOptimizer.step()|};
                        decoderOptimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_an_LBFGS_closure_that_calls_backward_naming_the_step_without_its_closure()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Fit
            {
                public static void Run()
                {
                    var model = new Seq2One(3, 32);
                    var optimizer = optim.LBFGS(model.parameters());
                    var x = randn(16, 20, 3);
                    var y = randn(16, 1);
                    for (var i = 0; i < 10; i++)
                    {
                        {|#0:optimizer.step(() =>
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(x), y);
                            loss.backward();
                            return loss;
                        })|};
                    }
                }
            }
            """ + Models,
            Verify.Diagnostic("GD0001").WithLocation(0).WithArguments("optimizer.step()").WithOptions(DiagnosticOptions.IgnoreAdditionalLocations));
    }

    [Fact]
    public async Task Reports_a_model_declared_as_a_base_module_type_but_built_recurrent()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    nn.Module<Tensor, Tensor> model = new Seq2One(2, 16);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(4, 10, 2)), rand(4, 1));
                        loss.backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_a_model_whose_submodule_field_has_a_base_module_type_but_holds_a_GRU_encoder()
    {
        await VerifyAsync("""
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly nn.Module<Tensor, Tensor> encoder;
                private readonly nn.Module<Tensor, Tensor> classifier;

                public Tagger() : base(nameof(Tagger))
                {
                    encoder = new Encoder(16, 32);
                    classifier = nn.Linear(32, 5);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => classifier.call(encoder.call(x));
            }

            static class Trainer
            {
                public static void Train()
                {
                    var model = new Tagger();
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.cross_entropy(model.call(randn(4, 12, 16)), randint(0, 5, 4)).backward();
                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_an_unclipped_fine_tuning_loop_after_a_clipped_pretraining_loop()
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
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        pretrainOptimizer.step();
                    }

                    var fineTuneOptimizer = optim.SGD(model.parameters(), 1e-4);
                    for (var i = 0; i < 100; i++)
                    {
                        fineTuneOptimizer.zero_grad();
                        nn.functional.l1_loss(model.call(rand(8, 200, 2)), rand(8, 1)).backward();
                        {|GD0001:fineTuneOptimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_top_level_statements()
    {
        var test = new Verify.Test { TestState = { OutputKind = OutputKind.ConsoleApplication } };
        test.TestCode = """
            using TorchSharp;
            using static TorchSharp.torch;

            var lstm = nn.LSTM(1, 32);
            var optimizer = optim.Adam(lstm.parameters());
            for (var step = 0; step < 10; step++)
            {
                optimizer.zero_grad();
                var (output, _, _) = lstm.call(randn(50, 4, 1));
                var loss = output.pow(2).mean();
                loss.backward();
                {|GD0001:optimizer.step()|};
            }
            """;
        await test.RunAsync();
    }

    [Fact]
    public async Task Reports_when_a_helper_runs_but_does_not_clip()
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
                        LogGradients(model);
                        {|GD0001:optimizer.step()|};
                    }
                }

                private static void LogGradients(nn.Module model)
                {
                    foreach (var (name, parameter) in model.named_parameters())
                    {
                        using var grad = parameter.grad;
                        Console.WriteLine($"{name}: {grad?.norm().item<float>()}");
                    }
                }
            }
            """);
    }

    // ---- negative ----

    [Fact]
    public async Task Clipping_between_backward_and_step_satisfies_the_rule()
    {
        await VerifyAsync("""
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
                        loss.backward();
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Clip_grad_value_counts_as_clipping()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(Forecaster model)
                {
                    var optimizer = optim.SGD(model.parameters(), 0.1);
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(randn(8, 24, 4)), randn(8, 1));
                        loss.backward();
                        nn.utils.clip_grad_value_(model.parameters(), 0.5);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_multilayer_perceptron_needs_no_clipping()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new Mlp(784, 256, 10);
                    var optimizer = optim.Adam(model.parameters());
                    for (var epoch = 0; epoch < 10; epoch++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.cross_entropy(model.call(randn(64, 784)), randint(0, 10, 64));
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_user_class_named_LSTM_is_not_recurrent()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train()
                {
                    var model = new LSTM(32);
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(randn(8, 32)), randn(8, 1));
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_transformer_style_stack_of_linear_layers_with_using_static_nn_needs_no_clipping()
    {
        await Verify.VerifyAsync("""
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            sealed class FeedForwardBlock : Module<Tensor, Tensor>
            {
                private readonly Linear up;
                private readonly Linear down;
                private readonly LayerNorm norm;

                public FeedForwardBlock(long width) : base(nameof(FeedForwardBlock))
                {
                    up = Linear(width, 4 * width);
                    down = Linear(4 * width, width);
                    norm = LayerNorm(width);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => norm.call(x + down.call(functional.gelu(up.call(x))));
            }

            static class Program
            {
                static void Main()
                {
                    var model = Sequential(new FeedForwardBlock(128), new FeedForwardBlock(128), Linear(128, 10));
                    var optimizer = optim.AdamW(model.parameters());
                    for (var step = 0; step < 100; step++)
                    {
                        optimizer.zero_grad();
                        var loss = functional.cross_entropy(model.call(randn(32, 128)), randint(0, 10, 32));
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_base_module_typed_submodule_that_holds_an_MLP_is_not_recurrent()
    {
        await VerifyAsync("""
            sealed class Classifier : nn.Module<Tensor, Tensor>
            {
                private readonly nn.Module<Tensor, Tensor> body;

                public Classifier() : base(nameof(Classifier))
                {
                    body = new Mlp(16, 32, 5);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => body.call(x);
            }

            static class Trainer
            {
                public static void Train()
                {
                    var model = new Classifier();
                    var optimizer = optim.Adam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.cross_entropy(model.call(randn(4, 16)), randint(0, 5, 4)).backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Clipping_in_a_helper_method_counts()
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
                        GradientTools.ClipAll(model);
                        optimizer.step();
                    }
                }
            }

            static class GradientTools
            {
                public static double ClipAll(nn.Module model, double maxNorm = 1.0) => torch.nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
            }
            """);
    }

    [Fact]
    public async Task A_user_optimizer_whose_step_clips_counts()
    {
        await VerifyAsync("""
            sealed class ClippedAdam : TorchSharp.Modules.OptimizerHelper
            {
                private readonly optim.Optimizer inner;
                private readonly IEnumerable<TorchSharp.Modules.Parameter> parameters;

                public ClippedAdam(IEnumerable<TorchSharp.Modules.Parameter> parameters)
                {
                    this.parameters = parameters.ToList();
                    inner = optim.Adam(this.parameters);
                }

                public override Tensor step(Func<Tensor>? closure = null)
                {
                    torch.nn.utils.clip_grad_norm_(parameters, 1.0);
                    return inner.step(closure);
                }

                public override void zero_grad() => inner.zero_grad();
            }

            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = new ClippedAdam(model.parameters());
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1)).backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_method_configured_as_clipping_counts()
    {
        await VerifyAsync(
            """
            namespace MyLab.Training
            {
                static class Gradients
                {
                    public static void ScaleToNorm(nn.Module model, double maxNorm)
                    {
                        var total = Math.Sqrt(model.parameters().Where(p => p.grad is not null).Sum(p => Math.Pow(p.grad!.norm().item<float>(), 2)));
                        if (total <= maxNorm)
                        {
                            return;
                        }

                        foreach (var parameter in model.parameters())
                        {
                            parameter.grad?.mul_(maxNorm / total);
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
                            var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                            loss.backward();
                            Gradients.ScaleToNorm(model, 5);
                            optimizer.step();
                        }
                    }
                }
            }
            """,
            "gradient_diagnostics.clipping_methods = MyLab.Training.Gradients.ScaleToNorm\n");
    }

    [Fact]
    public async Task Clamping_each_gradient_in_place_counts_as_clipping()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(x), y).backward();
                        foreach (var parameter in model.parameters())
                        {
                            parameter.grad?.clamp_(-5, 5);
                        }

                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_helper_rescaling_gradients_in_place_counts_as_clipping()
    {
        // "Dive into Deep Learning"'s grad_clipping: global norm, then p.grad *= theta / norm.
        await VerifyAsync("""
            static class D2l
            {
                public static void GradClipping(nn.Module net, double theta)
                {
                    var parameters = net.parameters().Where(p => p.requires_grad).ToList();
                    var norm = Math.Sqrt(parameters.Sum(p => p.grad!.pow(2).sum().item<float>()));
                    if (norm > theta)
                    {
                        foreach (var p in parameters)
                        {
                            p.grad!.mul_(theta / norm);
                        }
                    }
                }
            }

            static class Trainer
            {
                public static void Train(Seq2One model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(x), y).backward();
                        D2l.GradClipping(model, 1.0);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Dividing_each_gradient_in_place_in_the_loop_counts_as_clipping()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(Seq2One model, IEnumerable<(Tensor X, Tensor Y)> batches, double maxNorm)
                {
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(x), y).backward();
                        var norm = model.parameters().Select(p => p.grad!.norm().item<float>()).Max();
                        foreach (var p in model.parameters())
                        {
                            p.grad?.div_(Math.Max(1.0, norm / maxNorm));
                        }

                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Rescaling_the_parameters_rather_than_their_gradients_is_not_clipping()
    {
        await VerifyAsync("""
            static class Trainer
            {
                public static void Train(Seq2One model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.SGD(model.parameters(), 0.1);
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.call(x), y).backward();
                        using (no_grad())
                        {
                            foreach (var p in model.parameters())
                            {
                                p.mul_(0.999);
                            }
                        }

                        {|GD0001:optimizer.step()|};
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_misplaced_clip_is_left_to_GD0006()
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
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task A_clip_with_an_invalid_threshold_is_left_to_GD0007()
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
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.0);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Backward_without_an_optimizer_step_is_not_a_training_step()
    {
        await VerifyAsync("""
            static class Saliency
            {
                public static Tensor InputGradient(Seq2One model, Tensor sequence)
                {
                    var input = sequence.detach().requires_grad_(true);
                    for (var i = 0; i < 3; i++)
                    {
                        model.zero_grad();
                        model.call(input).sum().backward();
                    }

                    return input.grad!;
                }
            }
            """);
    }

    [Fact]
    public async Task An_optimizer_that_trains_only_a_linear_head_on_a_frozen_LSTM_is_not_recurrent()
    {
        await VerifyAsync("""
            static class Probe
            {
                public static void Train()
                {
                    var encoder = nn.LSTM(16, 64, batchFirst: true);
                    foreach (var parameter in encoder.parameters())
                    {
                        parameter.requires_grad = false;
                    }

                    var probe = nn.Linear(64, 2);
                    var optimizer = optim.SGD(probe.parameters(), 0.1);
                    for (var i = 0; i < 100; i++)
                    {
                        optimizer.zero_grad();
                        var (features, _, _) = encoder.call(randn(8, 30, 16));
                        var loss = nn.functional.cross_entropy(probe.call(features.select(1, -1)), randint(0, 2, 8));
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Two_optimizers_under_one_clip_are_both_clipped()
    {
        await VerifyAsync("""
            static class Seq2SeqTrainer
            {
                public static void Train()
                {
                    var encoder = nn.GRU(16, 64, batchFirst: true);
                    var decoder = nn.GRUCell(16, 64);
                    var encoderOptimizer = optim.Adam(encoder.parameters());
                    var decoderOptimizer = optim.Adam(decoder.parameters());
                    for (var i = 0; i < 500; i++)
                    {
                        encoderOptimizer.zero_grad();
                        decoderOptimizer.zero_grad();
                        var (_, hidden) = encoder.call(randn(8, 30, 16));
                        var state = hidden[0];
                        var loss = zeros(1);
                        for (var t = 0; t < 10; t++)
                        {
                            state = decoder.call(randn(8, 16), state);
                            loss = loss + state.pow(2).mean();
                        }

                        loss.backward();
                        torch.nn.utils.clip_grad_norm_(encoder.parameters().Concat(decoder.parameters()), 1.0);
                        encoderOptimizer.step();
                        decoderOptimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Stays_silent_without_TorchSharp()
    {
        await Verify.VerifyWithoutTorchSharpAsync("""
            class LSTM { }
            class Loss { public void backward() { } }
            class Adam { public void step() { } }
            static class Program
            {
                static void Main()
                {
                    var lstm = new LSTM();
                    var optimizer = new Adam();
                    for (var i = 0; i < 3; i++) { new Loss().backward(); optimizer.step(); }
                }
            }
            """);
    }
}
