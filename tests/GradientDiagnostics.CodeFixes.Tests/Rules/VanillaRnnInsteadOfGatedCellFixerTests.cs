using Microsoft.CodeAnalysis;
using Verify = GradientDiagnostics.Testing.TorchSharpCodeFixVerifier<GradientDiagnostics.Analyzers.VanillaRnnInsteadOfGatedCellAnalyzer, GradientDiagnostics.CodeFixes.VanillaRnnInsteadOfGatedCellFixer>;

namespace GradientDiagnostics.CodeFixes.Tests.Rules;

public class VanillaRnnInsteadOfGatedCellFixerTests
{
    [Fact]
    public async Task Replaces_an_RNN_field_and_its_declared_type_and_the_call_site_keeps_compiling()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class SequenceRegressor : nn.Module<Tensor, Tensor>
            {
                private readonly RNN rnn;
                private readonly Linear head;

                public SequenceRegressor() : base(nameof(SequenceRegressor))
                {
                    rnn = {|GD0005:nn.RNN(1, 64, batchFirst: true)|};
                    head = nn.Linear(64, 1);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var (y, h) = rnn.call(x, null);
                    return head.call(y.select(1, -1));
                }
            }
            """, """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class SequenceRegressor : nn.Module<Tensor, Tensor>
            {
                private readonly GRU rnn;
                private readonly Linear head;

                public SequenceRegressor() : base(nameof(SequenceRegressor))
                {
                    rnn = nn.GRU(1, 64, batchFirst: true);
                    head = nn.Linear(64, 1);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var (y, h) = rnn.call(x, null);
                    return head.call(y.select(1, -1));
                }
            }
            """);
    }

    [Fact]
    public async Task Drops_a_named_nonLinearity_argument_and_retypes_a_fully_qualified_property()
    {
        await Verify.VerifyAsync("""
            using TorchSharp;

            sealed class Encoder : torch.nn.Module<torch.Tensor, torch.Tensor>
            {
                public TorchSharp.Modules.RNN Recurrent { get; } = {|GD0005:torch.nn.RNN(300, 128, nonLinearity: torch.nn.NonLinearities.ReLU, batchFirst: true)|};

                public Encoder() : base("encoder") => RegisterComponents();

                public override torch.Tensor forward(torch.Tensor x) => Recurrent.call(x, null).Item1;
            }
            """, """
            using TorchSharp;

            sealed class Encoder : torch.nn.Module<torch.Tensor, torch.Tensor>
            {
                public TorchSharp.Modules.GRU Recurrent { get; } = torch.nn.GRU(300, 128, batchFirst: true);

                public Encoder() : base("encoder") => RegisterComponents();

                public override torch.Tensor forward(torch.Tensor x) => Recurrent.call(x, null).Item1;
            }
            """);
    }

    [Fact]
    public async Task Drops_a_positional_nonLinearity_and_later_positional_arguments_line_up_with_GRU()
    {
        await Verify.VerifyAsync("""
            using static TorchSharp.torch;

            static class Layers
            {
                public static nn.Module<Tensor, Tensor, (Tensor, Tensor)> Recurrent() =>
                    {|GD0005:nn.RNN(10, 20, 2, nn.NonLinearities.Tanh, true, true, 0.1)|};
            }

            static class Trainer
            {
                public static void Train(Tensor x)
                {
                    var rnn = Layers.Recurrent();
                    var optimizer = optim.SGD(rnn.parameters(), 0.1);
                    rnn.call(x, null).Item1.sum().backward();
                    optimizer.step();
                }
            }
            """, """
            using static TorchSharp.torch;

            static class Layers
            {
                public static nn.Module<Tensor, Tensor, (Tensor, Tensor)> Recurrent() =>
                    nn.GRU(10, 20, 2, true, true, 0.1);
            }

            static class Trainer
            {
                public static void Train(Tensor x)
                {
                    var rnn = Layers.Recurrent();
                    var optimizer = optim.SGD(rnn.parameters(), 0.1);
                    rnn.call(x, null).Item1.sum().backward();
                    optimizer.step();
                }
            }
            """);
    }

    [Fact]
    public async Task Replaces_an_RNNCell_created_through_using_static_nn_and_its_field_type()
    {
        await Verify.VerifyAsync("""
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            sealed class Unrolled : Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.RNNCell cell = {|GD0005:RNNCell(8, 32, NonLinearities.ReLU)|};

                public Unrolled() : base("unrolled") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var h = zeros(x.shape[0], 32);
                    for (long t = 0; t < x.shape[1]; t++)
                    {
                        h = cell.call(x.select(1, t), h);
                    }

                    return h;
                }
            }
            """, """
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            sealed class Unrolled : Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.GRUCell cell = GRUCell(8, 32);

                public Unrolled() : base("unrolled") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var h = zeros(x.shape[0], 32);
                    for (long t = 0; t < x.shape[1]; t++)
                    {
                        h = cell.call(x.select(1, t), h);
                    }

                    return h;
                }
            }
            """);
    }

    [Fact]
    public async Task Replaces_an_explicitly_typed_local_in_a_training_loop()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            static class Trainer
            {
                public static void Train()
                {
                    RNN rnn = {|GD0005:nn.RNN(1, 16, batchFirst: true)|};
                    var optimizer = optim.Adam(rnn.parameters());
                    Tensor? hidden = null;
                    for (var step = 0; step < 10; step++)
                    {
                        optimizer.zero_grad();
                        var (output, h) = rnn.call(randn(4, 50, 1), hidden);
                        hidden = h.detach();
                        output.pow(2).mean().backward();
                        optimizer.step();
                    }
                }
            }
            """, """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            static class Trainer
            {
                public static void Train()
                {
                    GRU rnn = nn.GRU(1, 16, batchFirst: true);
                    var optimizer = optim.Adam(rnn.parameters());
                    Tensor? hidden = null;
                    for (var step = 0; step < 10; step++)
                    {
                        optimizer.zero_grad();
                        var (output, h) = rnn.call(randn(4, 50, 1), hidden);
                        hidden = h.detach();
                        output.pow(2).mean().backward();
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Fix_all_replaces_encoder_and_decoder()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Seq2Seq : nn.Module<Tensor, Tensor>
            {
                private readonly RNN encoder = {|GD0005:nn.RNN(16, 64)|};
                private readonly RNNCell decoder = {|GD0005:nn.RNNCell(64, 64, nonLinearity: nn.NonLinearities.Tanh)|};

                public Seq2Seq() : base("seq2seq") => RegisterComponents();

                public override Tensor forward(Tensor x) => decoder.call(encoder.call(x, null).Item2[0], null);
            }
            """, """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Seq2Seq : nn.Module<Tensor, Tensor>
            {
                private readonly GRU encoder = nn.GRU(16, 64);
                private readonly GRUCell decoder = nn.GRUCell(64, 64);

                public Seq2Seq() : base("seq2seq") => RegisterComponents();

                public override Tensor forward(Tensor x) => decoder.call(encoder.call(x, null).Item2[0], null);
            }
            """);
    }

    [Fact]
    public async Task Top_level_var_local_of_a_training_script_needs_only_the_factory_changed()
    {
        var test = new Verify.Test
        {
            TestCode = """
                using static TorchSharp.torch;

                var rnn = {|GD0005:nn.RNN(1, 16, batchFirst: true)|};
                var (output, hidden) = rnn.call(randn(4, 50, 1), null);
                var optimizer = optim.SGD(rnn.parameters(), 0.1);
                output.sum().backward();
                optimizer.step();
                """,
            FixedCode = """
                using static TorchSharp.torch;

                var rnn = nn.GRU(1, 16, batchFirst: true);
                var (output, hidden) = rnn.call(randn(4, 50, 1), null);
                var optimizer = optim.SGD(rnn.parameters(), 0.1);
                output.sum().backward();
                optimizer.step();
                """,
        };
        test.TestState.OutputKind = OutputKind.ConsoleApplication;
        test.FixedState.OutputKind = OutputKind.ConsoleApplication;
        await test.RunAsync(CancellationToken.None);
    }

    [Fact]
    public async Task No_fix_when_the_module_is_used_through_an_RNN_only_member()
    {
        const string source = """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Irnn : nn.Module<Tensor, Tensor>
            {
                private readonly RNN rnn;

                public Irnn() : base("irnn")
                {
                    rnn = {|GD0005:nn.RNN(1, 100, nonLinearity: nn.NonLinearities.ReLU)|};
                    RegisterComponents();
                    nn.init.eye_(rnn.get_weight_hh(0));
                }

                public override Tensor forward(Tensor x) => rnn.call(x, null).Item1;
            }
            """;
        await Verify.VerifyAsync(source, source);
    }

    [Fact]
    public async Task No_fix_when_the_module_is_passed_where_an_RNN_is_required()
    {
        const string source = """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            static class Inspect
            {
                public static long Hidden(RNN rnn) => rnn.parameters().First().shape[0];

                public static long Build()
                {
                    RNN rnn = {|GD0005:nn.RNN(3, 8)|};
                    var optimizer = optim.SGD(rnn.parameters(), 0.1);
                    rnn.call(randn(2, 1, 3)).Item1.sum().backward();
                    optimizer.step();
                    return Hidden(rnn);
                }
            }
            """;
        await Verify.VerifyAsync(source.Replace("using TorchSharp.Modules;", "using System.Linq;\nusing TorchSharp.Modules;"), source.Replace("using TorchSharp.Modules;", "using System.Linq;\nusing TorchSharp.Modules;"));
    }
}
