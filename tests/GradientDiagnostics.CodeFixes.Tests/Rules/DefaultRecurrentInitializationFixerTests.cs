using Microsoft.CodeAnalysis;
using TorchSharp;
using Verify = GradientDiagnostics.Testing.TorchSharpCodeFixVerifier<GradientDiagnostics.Analyzers.DefaultRecurrentInitializationAnalyzer, GradientDiagnostics.CodeFixes.DefaultRecurrentInitializationFixer>;

namespace GradientDiagnostics.CodeFixes.Tests.Rules;

/// <summary>The GD0003/GD0004 fix: the inserted block compiles, and the analyzer no longer reports the module.</summary>
public class DefaultRecurrentInitializationFixerTests
{
    private static Task VerifyProgramAsync(string source, string fixedSource)
    {
        var test = new Verify.Test { TestCode = source, FixedCode = fixedSource };
        test.TestState.OutputKind = OutputKind.ConsoleApplication;
        test.FixedState.OutputKind = OutputKind.ConsoleApplication;
        return test.RunAsync(CancellationToken.None);
    }

    [Fact]
    public async Task LSTM_field_gets_orthogonal_xavier_zero_bias_and_forget_gate_bias_after_RegisterComponents()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class AddingModel : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm;
                private readonly Linear head;

                public AddingModel(int hidden) : base(nameof(AddingModel))
                {
                    lstm = {|GD0004:nn.LSTM(2, hidden, batchFirst: true)|};
                    head = nn.Linear(hidden, 1);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor input)
                {
                    var (output, _, _) = lstm.call(input);
                    return head.call(output.select(1, -1));
                }
            }
            """, FixedAddingModel);
    }

    [Fact]
    public async Task Tanh_RNN_field_gets_orthogonal_recurrent_weights_and_the_loop_names_avoid_a_name_parameter()
    {
        await Verify.VerifyAsync("""
            using System;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly RNN rnn;

                public Tagger(string name, int layers) : base(name)
                {
                    rnn = {|GD0003:nn.RNN(50, 100, numLayers: layers, bidirectional: true)|};
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => rnn.call(x, null).Item1;
            }
            """, """
            using System;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly RNN rnn;

                public Tagger(string name, int layers) : base(name)
                {
                    rnn = nn.RNN(50, 100, numLayers: layers, bidirectional: true);
                    RegisterComponents();
                    using (no_grad())
                    {
                        foreach (var (name1, parameter) in rnn.named_parameters())
                        {
                            if (name1.StartsWith("weight_hh", StringComparison.Ordinal))
                            {
                                nn.init.orthogonal_(parameter);
                            }
                            else if (name1.StartsWith("weight_ih", StringComparison.Ordinal))
                            {
                                nn.init.xavier_uniform_(parameter);
                            }
                            else if (name1.StartsWith("bias", StringComparison.Ordinal))
                            {
                                nn.init.zeros_(parameter);
                            }
                        }
                    }
                }

                public override Tensor forward(Tensor x) => rnn.call(x, null).Item1;
            }
            """);
    }

    [Fact]
    public async Task ReLU_RNN_gets_identity_recurrent_weights()
    {
        await Verify.VerifyAsync("""
            using TorchSharp;
            using TorchSharp.Modules;

            sealed class Irnn : torch.nn.Module<torch.Tensor, torch.Tensor>
            {
                private readonly RNN rnn;

                public Irnn() : base("irnn")
                {
                    rnn = {|GD0003:torch.nn.RNN(1, 100, nonLinearity: torch.nn.NonLinearities.ReLU)|};
                    RegisterComponents();
                }

                public override torch.Tensor forward(torch.Tensor x) => rnn.call(x, null).Item1;
            }
            """, FixedIrnn);
    }

    [Fact]
    public async Task Top_level_GRU_local_is_initialised_right_after_its_declaration()
    {
        await VerifyProgramAsync("""
            using TorchSharp;

            var gru = {|GD0004:torch.nn.GRU(10, 20, numLayers: 2)|};
            var optimizer = torch.optim.Adam(gru.parameters());
            var (y, h) = gru.call(torch.randn(5, 3, 10), null);
            y.sum().backward();
            optimizer.step();
            """, """
            using TorchSharp;

            var gru = torch.nn.GRU(10, 20, numLayers: 2);

            using (torch.no_grad())
            {
                foreach (var (name, parameter) in gru.named_parameters())
                {
                    if (name.StartsWith("weight_hh", System.StringComparison.Ordinal))
                    {
                        torch.nn.init.orthogonal_(parameter);
                    }
                    else if (name.StartsWith("weight_ih", System.StringComparison.Ordinal))
                    {
                        torch.nn.init.xavier_uniform_(parameter);
                    }
                    else if (name.StartsWith("bias", System.StringComparison.Ordinal))
                    {
                        torch.nn.init.zeros_(parameter);
                    }
                }
            }

            var optimizer = torch.optim.Adam(gru.parameters());
            var (y, h) = gru.call(torch.randn(5, 3, 10), null);
            y.sum().backward();
            optimizer.step();
            """);
    }

    [Fact]
    public async Task Field_initialiser_with_an_expression_bodied_constructor_becomes_a_block_body()
    {
        await Verify.VerifyAsync("""
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            sealed class Unrolled : Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.GRUCell cell = {|GD0004:GRUCell(8, 32)|};

                public Unrolled() : base("unrolled") => RegisterComponents();

                public override Tensor forward(Tensor x) => cell.call(x, null);
            }
            """, """
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            sealed class Unrolled : Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.GRUCell cell = GRUCell(8, 32);

                public Unrolled() : base("unrolled")
                {
                    RegisterComponents();
                    using (no_grad())
                    {
                        foreach (var (name, parameter) in cell.named_parameters())
                        {
                            if (name.StartsWith("weight_hh", System.StringComparison.Ordinal))
                            {
                                init.orthogonal_(parameter);
                            }
                            else if (name.StartsWith("weight_ih", System.StringComparison.Ordinal))
                            {
                                init.xavier_uniform_(parameter);
                            }
                            else if (name.StartsWith("bias", System.StringComparison.Ordinal))
                            {
                                init.zeros_(parameter);
                            }
                        }
                    }
                }

                public override Tensor forward(Tensor x) => cell.call(x, null);
            }
            """);
    }

    [Fact]
    public async Task Field_shadowed_by_a_constructor_parameter_is_reached_through_this()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Decoder : nn.Module<Tensor, Tensor>
            {
                private readonly LSTMCell cell;

                public Decoder(int cell) : base("decoder")
                {
                    this.cell = {|GD0004:nn.LSTMCell(cell, cell)|};
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => this.cell.call(x, null).Item1;
            }
            """, """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Decoder : nn.Module<Tensor, Tensor>
            {
                private readonly LSTMCell cell;

                public Decoder(int cell) : base("decoder")
                {
                    this.cell = nn.LSTMCell(cell, cell);
                    RegisterComponents();
                    using (no_grad())
                    {
                        foreach (var (name, parameter) in this.cell.named_parameters())
                        {
                            if (name.StartsWith("weight_hh", System.StringComparison.Ordinal))
                            {
                                nn.init.orthogonal_(parameter);
                            }
                            else if (name.StartsWith("weight_ih", System.StringComparison.Ordinal))
                            {
                                nn.init.xavier_uniform_(parameter);
                            }
                            else if (name.StartsWith("bias_ih", System.StringComparison.Ordinal))
                            {
                                // Gate rows are i, f, g, o: starting the forget gate at b_ih + b_hh = 1 lets the cell remember by default.
                                nn.init.zeros_(parameter);
                                parameter[TensorIndex.Slice(parameter.shape[0] / 4, parameter.shape[0] / 2)].fill_(1.0);
                            }
                            else if (name.StartsWith("bias", System.StringComparison.Ordinal))
                            {
                                nn.init.zeros_(parameter);
                            }
                        }
                    }
                }

                public override Tensor forward(Tensor x) => this.cell.call(x, null).Item1;
            }
            """);
    }

    [Fact]
    public async Task Fix_all_initialises_encoder_and_decoder_after_the_same_RegisterComponents()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Seq2Seq : nn.Module<Tensor, Tensor>
            {
                private readonly RNN encoder;
                private readonly RNN decoder;

                public Seq2Seq() : base("seq2seq")
                {
                    encoder = {|GD0003:nn.RNN(16, 64)|};
                    decoder = {|GD0003:nn.RNN(64, 64)|};
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => decoder.call(x, encoder.call(x, null).Item2).Item1;
            }
            """, """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Seq2Seq : nn.Module<Tensor, Tensor>
            {
                private readonly RNN encoder;
                private readonly RNN decoder;

                public Seq2Seq() : base("seq2seq")
                {
                    encoder = nn.RNN(16, 64);
                    decoder = nn.RNN(64, 64);
                    RegisterComponents();
                    using (no_grad())
                    {
                        foreach (var (name, parameter) in encoder.named_parameters())
                        {
                            if (name.StartsWith("weight_hh", System.StringComparison.Ordinal))
                            {
                                nn.init.orthogonal_(parameter);
                            }
                            else if (name.StartsWith("weight_ih", System.StringComparison.Ordinal))
                            {
                                nn.init.xavier_uniform_(parameter);
                            }
                            else if (name.StartsWith("bias", System.StringComparison.Ordinal))
                            {
                                nn.init.zeros_(parameter);
                            }
                        }
                    }

                    using (no_grad())
                    {
                        foreach (var (name, parameter) in decoder.named_parameters())
                        {
                            if (name.StartsWith("weight_hh", System.StringComparison.Ordinal))
                            {
                                nn.init.orthogonal_(parameter);
                            }
                            else if (name.StartsWith("weight_ih", System.StringComparison.Ordinal))
                            {
                                nn.init.xavier_uniform_(parameter);
                            }
                            else if (name.StartsWith("bias", System.StringComparison.Ordinal))
                            {
                                nn.init.zeros_(parameter);
                            }
                        }
                    }
                }

                public override Tensor forward(Tensor x) => decoder.call(x, encoder.call(x, null).Item2).Item1;
            }
            """);
    }

    [Fact]
    public async Task Local_in_a_builder_method_that_training_code_calls_is_initialised_before_it_is_returned()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            static class Layers
            {
                public static LSTM Encoder(long input, long hidden)
                {
                    var lstm = {|GD0004:nn.LSTM(input, hidden, numLayers: 2, dropout: 0.2)|};
                    var name = $"lstm{hidden}";
                    System.Console.WriteLine(name);
                    return lstm;
                }
            }

            static class Trainer
            {
                public static void Train(Tensor x)
                {
                    var encoder = Layers.Encoder(4, 8);
                    var optimizer = optim.Adam(encoder.parameters());
                    encoder.call(x).Item1.sum().backward();
                    optimizer.step();
                }
            }
            """, """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            static class Layers
            {
                public static LSTM Encoder(long input, long hidden)
                {
                    var lstm = nn.LSTM(input, hidden, numLayers: 2, dropout: 0.2);
                    using (no_grad())
                    {
                        foreach (var (name1, parameter) in lstm.named_parameters())
                        {
                            if (name1.StartsWith("weight_hh", System.StringComparison.Ordinal))
                            {
                                nn.init.orthogonal_(parameter);
                            }
                            else if (name1.StartsWith("weight_ih", System.StringComparison.Ordinal))
                            {
                                nn.init.xavier_uniform_(parameter);
                            }
                            else if (name1.StartsWith("bias_ih", System.StringComparison.Ordinal))
                            {
                                // Gate rows are i, f, g, o: starting the forget gate at b_ih + b_hh = 1 lets the cell remember by default.
                                nn.init.zeros_(parameter);
                                parameter[TensorIndex.Slice(parameter.shape[0] / 4, parameter.shape[0] / 2)].fill_(1.0);
                            }
                            else if (name1.StartsWith("bias", System.StringComparison.Ordinal))
                            {
                                nn.init.zeros_(parameter);
                            }
                        }
                    }

                    var name = $"lstm{hidden}";
                    System.Console.WriteLine(name);
                    return lstm;
                }
            }

            static class Trainer
            {
                public static void Train(Tensor x)
                {
                    var encoder = Layers.Encoder(4, 8);
                    var optimizer = optim.Adam(encoder.parameters());
                    encoder.call(x).Item1.sum().backward();
                    optimizer.step();
                }
            }
            """);
    }

    [Fact]
    public async Task No_fix_for_a_module_registered_by_name_without_a_variable()
    {
        const string source = """
            using static TorchSharp.torch;

            sealed class Dynamic : nn.Module<Tensor, Tensor>
            {
                public Dynamic(int layers) : base("dynamic")
                {
                    register_module("recurrent", {|GD0003:nn.RNN(10, 20, numLayers: layers)|});
                }

                public override Tensor forward(Tensor x) => x;
            }
            """;
        await Verify.VerifyAsync(source, source);
    }

    [Fact]
    public async Task Field_initialiser_shared_by_two_constructors_is_initialised_in_both()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Decoder : nn.Module<Tensor, Tensor>
            {
                private readonly GRUCell cell = {|GD0004:nn.GRUCell(16, 16)|};

                public Decoder() : base("decoder") => RegisterComponents();

                public Decoder(string name) : base(name)
                {
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => cell.call(x, null);
            }
            """, """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Decoder : nn.Module<Tensor, Tensor>
            {
                private readonly GRUCell cell = nn.GRUCell(16, 16);

                public Decoder() : base("decoder")
                {
                    RegisterComponents();
                    using (no_grad())
                    {
                        foreach (var (name, parameter) in cell.named_parameters())
                        {
                            if (name.StartsWith("weight_hh", System.StringComparison.Ordinal))
                            {
                                nn.init.orthogonal_(parameter);
                            }
                            else if (name.StartsWith("weight_ih", System.StringComparison.Ordinal))
                            {
                                nn.init.xavier_uniform_(parameter);
                            }
                            else if (name.StartsWith("bias", System.StringComparison.Ordinal))
                            {
                                nn.init.zeros_(parameter);
                            }
                        }
                    }
                }

                public Decoder(string name) : base(name)
                {
                    RegisterComponents();
                    using (no_grad())
                    {
                        foreach (var (name1, parameter) in cell.named_parameters())
                        {
                            if (name1.StartsWith("weight_hh", System.StringComparison.Ordinal))
                            {
                                nn.init.orthogonal_(parameter);
                            }
                            else if (name1.StartsWith("weight_ih", System.StringComparison.Ordinal))
                            {
                                nn.init.xavier_uniform_(parameter);
                            }
                            else if (name1.StartsWith("bias", System.StringComparison.Ordinal))
                            {
                                nn.init.zeros_(parameter);
                            }
                        }
                    }
                }

                public override Tensor forward(Tensor x) => cell.call(x, null);
            }
            """);
    }

    [Fact]
    public async Task Field_initialiser_is_initialised_only_in_the_constructor_that_misses_it()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Decoder : nn.Module<Tensor, Tensor>
            {
                private readonly LSTMCell cell = {|GD0004:nn.LSTMCell(16, 16)|};

                public Decoder() : base("decoder")
                {
                    RegisterComponents();
                    foreach (var p in cell.parameters())
                    {
                        nn.init.uniform_(p, -0.1, 0.1);
                    }
                }

                public Decoder(string name) : base(name)
                {
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => cell.call(x, null).Item1;
            }
            """, """
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Decoder : nn.Module<Tensor, Tensor>
            {
                private readonly LSTMCell cell = nn.LSTMCell(16, 16);

                public Decoder() : base("decoder")
                {
                    RegisterComponents();
                    foreach (var p in cell.parameters())
                    {
                        nn.init.uniform_(p, -0.1, 0.1);
                    }
                }

                public Decoder(string name) : base(name)
                {
                    RegisterComponents();
                    using (no_grad())
                    {
                        foreach (var (name1, parameter) in cell.named_parameters())
                        {
                            if (name1.StartsWith("weight_hh", System.StringComparison.Ordinal))
                            {
                                nn.init.orthogonal_(parameter);
                            }
                            else if (name1.StartsWith("weight_ih", System.StringComparison.Ordinal))
                            {
                                nn.init.xavier_uniform_(parameter);
                            }
                            else if (name1.StartsWith("bias_ih", System.StringComparison.Ordinal))
                            {
                                // Gate rows are i, f, g, o: starting the forget gate at b_ih + b_hh = 1 lets the cell remember by default.
                                nn.init.zeros_(parameter);
                                parameter[TensorIndex.Slice(parameter.shape[0] / 4, parameter.shape[0] / 2)].fill_(1.0);
                            }
                            else if (name1.StartsWith("bias", System.StringComparison.Ordinal))
                            {
                                nn.init.zeros_(parameter);
                            }
                        }
                    }
                }

                public override Tensor forward(Tensor x) => cell.call(x, null).Item1;
            }
            """);
    }

    [Fact]
    public void Fixed_LSTM_model_has_orthogonal_recurrent_weights_and_a_forget_gate_bias_of_1()
    {
        const int hidden = 8;
        using var model = FixedCodeRunner.CreateModel(FixedAddingModel, "AddingModel", hidden);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);

        var recurrent = parameters["lstm.weight_hh_l0"];
        Assert.Equal(new long[] { 4 * hidden, hidden }, recurrent.shape);
        using (var gram = recurrent.t().matmul(recurrent))
        using (var identity = torch.eye(hidden))
        {
            Assert.True(gram.allclose(identity, rtol: 0, atol: 1e-4), "weight_hh^T weight_hh should be the identity");
        }

        var biasIh = parameters["lstm.bias_ih_l0"].data<float>().ToArray();
        var expectedIh = Enumerable.Range(0, 4 * hidden).Select(i => i >= hidden && i < 2 * hidden ? 1f : 0f).ToArray();
        Assert.Equal(expectedIh, biasIh);
        Assert.All(parameters["lstm.bias_hh_l0"].data<float>().ToArray(), value => Assert.Equal(0f, value));

        using var output = model.call(torch.rand(4, 20, 2));
        Assert.Equal(new long[] { 4, 1 }, output.shape);
    }

    [Fact]
    public void Fixed_ReLU_RNN_has_identity_recurrent_weights_and_trains()
    {
        using var model = FixedCodeRunner.CreateModel(FixedIrnn, "Irnn");
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (var identity = torch.eye(100))
        {
            Assert.True(parameters["rnn.weight_hh_l0"].equal(identity).all().item<bool>());
        }

        Assert.All(parameters["rnn.bias_hh_l0"].data<float>().ToArray(), value => Assert.Equal(0f, value));

        using var scope = torch.NewDisposeScope();
        var input = torch.randn(30, 2, 1);
        model.call(input).sum().backward();
        Assert.True(parameters["rnn.weight_hh_l0"].grad is not null);
    }

    private const string FixedAddingModel = """
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        public sealed class AddingModel : nn.Module<Tensor, Tensor>
        {
            private readonly LSTM lstm;
            private readonly Linear head;

            public AddingModel(int hidden) : base(nameof(AddingModel))
            {
                lstm = nn.LSTM(2, hidden, batchFirst: true);
                head = nn.Linear(hidden, 1);
                RegisterComponents();
                using (no_grad())
                {
                    foreach (var (name, parameter) in lstm.named_parameters())
                    {
                        if (name.StartsWith("weight_hh", System.StringComparison.Ordinal))
                        {
                            nn.init.orthogonal_(parameter);
                        }
                        else if (name.StartsWith("weight_ih", System.StringComparison.Ordinal))
                        {
                            nn.init.xavier_uniform_(parameter);
                        }
                        else if (name.StartsWith("bias_ih", System.StringComparison.Ordinal))
                        {
                            // Gate rows are i, f, g, o: starting the forget gate at b_ih + b_hh = 1 lets the cell remember by default.
                            nn.init.zeros_(parameter);
                            parameter[TensorIndex.Slice(parameter.shape[0] / 4, parameter.shape[0] / 2)].fill_(1.0);
                        }
                        else if (name.StartsWith("bias", System.StringComparison.Ordinal))
                        {
                            nn.init.zeros_(parameter);
                        }
                    }
                }
            }

            public override Tensor forward(Tensor input)
            {
                var (output, _, _) = lstm.call(input);
                return head.call(output.select(1, -1));
            }
        }
        """;

    private const string FixedIrnn = """
        using TorchSharp;
        using TorchSharp.Modules;

        sealed class Irnn : torch.nn.Module<torch.Tensor, torch.Tensor>
        {
            private readonly RNN rnn;

            public Irnn() : base("irnn")
            {
                rnn = torch.nn.RNN(1, 100, nonLinearity: torch.nn.NonLinearities.ReLU);
                RegisterComponents();
                using (torch.no_grad())
                {
                    foreach (var (name, parameter) in rnn.named_parameters())
                    {
                        if (name.StartsWith("weight_hh", System.StringComparison.Ordinal))
                        {
                            torch.nn.init.eye_(parameter);
                        }
                        else if (name.StartsWith("weight_ih", System.StringComparison.Ordinal))
                        {
                            torch.nn.init.xavier_uniform_(parameter);
                        }
                        else if (name.StartsWith("bias", System.StringComparison.Ordinal))
                        {
                            torch.nn.init.zeros_(parameter);
                        }
                    }
                }
            }

            public override torch.Tensor forward(torch.Tensor x) => rnn.call(x, null).Item1;
        }
        """;
}
