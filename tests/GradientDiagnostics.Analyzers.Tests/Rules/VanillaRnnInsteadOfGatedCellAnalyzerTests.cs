using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.VanillaRnnInsteadOfGatedCellAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

public class VanillaRnnInsteadOfGatedCellAnalyzerTests
{
    private static DiagnosticResult Rnn(int markup, string name) =>
        new DiagnosticResult(DiagnosticDescriptors.VanillaRnnInsteadOfGatedCell).WithLocation(markup).WithArguments(name, "nn.GRU or nn.LSTM");

    private static DiagnosticResult Cell(int markup, string name) =>
        new DiagnosticResult(DiagnosticDescriptors.VanillaRnnInsteadOfGatedCell).WithLocation(markup).WithArguments(name, "nn.GRUCell or nn.LSTMCell");

    private static Task VerifyProgramAsync(string source, params DiagnosticResult[] expected)
    {
        var test = new Verify.Test { TestCode = source };
        test.TestState.OutputKind = OutputKind.ConsoleApplication;
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync(CancellationToken.None);
    }

    // ---------------------------------------------------------------- positives

    [Fact]
    public async Task Vanilla_RNN_field_of_a_model()
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
                    rnn = {|#0:nn.RNN(1, 64, batchFirst: true)|};
                    head = nn.Linear(64, 1);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var (y, _) = rnn.call(x);
                    return head.call(y.select(1, -1));
                }
            }
            """, Rnn(0, "rnn"));
    }

    [Fact]
    public async Task Vanilla_RNN_is_reported_even_when_it_is_carefully_initialised()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class IrnnModel : nn.Module<Tensor, Tensor>
            {
                private readonly RNN rnn;

                public IrnnModel() : base("irnn")
                {
                    rnn = {|#0:nn.RNN(1, 100, nonLinearity: nn.NonLinearities.ReLU)|};
                    RegisterComponents();
                    using var guard = no_grad();
                    nn.init.eye_(rnn.get_weight_hh(0));
                }

                public override Tensor forward(Tensor x) => rnn.call(x, null).Item1;
            }
            """, Rnn(0, "rnn"));
    }

    [Fact]
    public async Task Top_level_training_script_with_an_RNN()
    {
        await VerifyProgramAsync("""
            using static TorchSharp.torch;

            var rnn = {|#0:nn.RNN(1, 16, batchFirst: true)|};
            var optimizer = optim.Adam(rnn.parameters());
            var (output, hidden) = rnn.call(randn(4, 50, 1));
            output.pow(2).mean().backward();
            optimizer.step();
            """, Rnn(0, "rnn"));
    }

    [Fact]
    public async Task RNNCell_through_using_static_nn()
    {
        await Verify.VerifyAsync("""
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            sealed class Unrolled : Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.RNNCell cell = {|#0:RNNCell(8, 32)|};

                public Unrolled() : base("unrolled") => RegisterComponents();

                public override Tensor forward(Tensor x) => cell.call(x.select(1, 0), null);
            }
            """, Cell(0, "cell"));
    }

    [Fact]
    public async Task Fully_qualified_torch_nn_RNN_in_a_property()
    {
        await Verify.VerifyAsync("""
            using TorchSharp;

            sealed class Encoder : torch.nn.Module<torch.Tensor, torch.Tensor>
            {
                public TorchSharp.Modules.RNN Recurrent { get; } = {|#0:torch.nn.RNN(300, 128, 2, torch.nn.NonLinearities.Tanh, true, true)|};

                public Encoder() : base("encoder") => RegisterComponents();

                public override torch.Tensor forward(torch.Tensor x) => Recurrent.call(x, null).Item1;
            }
            """, Rnn(0, "Recurrent"));
    }

    [Fact]
    public async Task Encoder_and_decoder_are_both_reported()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Seq2Seq : nn.Module<Tensor, Tensor>
            {
                private readonly RNN encoder = {|#0:nn.RNN(16, 64)|};
                private readonly RNNCell decoder = {|#1:nn.RNNCell(64, 64)|};

                public Seq2Seq() : base("seq2seq") => RegisterComponents();

                public override Tensor forward(Tensor x) => decoder.call(encoder.call(x, null).Item2[0], null);
            }
            """, Rnn(0, "encoder"), Cell(1, "decoder"));
    }

    [Fact]
    public async Task RNN_registered_by_name()
    {
        await Verify.VerifyAsync("""
            using static TorchSharp.torch;

            sealed class Dynamic : nn.Module<Tensor, Tensor>
            {
                public Dynamic(int layers) : base("dynamic")
                {
                    register_module("recurrent", {|#0:nn.RNN(10, 20, numLayers: layers)|});
                }

                public override Tensor forward(Tensor x) => x;
            }
            """, Rnn(0, "recurrent"));
    }

    [Fact]
    public async Task RNN_cells_in_a_module_list_built_in_a_loop()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Stack : nn.Module<Tensor, Tensor>
            {
                private readonly ModuleList<RNNCell> cells = new ModuleList<RNNCell>();

                public Stack(int depth) : base("stack")
                {
                    for (var i = 0; i < depth; i++)
                    {
                        cells.Add({|#0:nn.RNNCell(32, 32)|});
                    }

                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => x;
            }
            """, Cell(0, "cells"));
    }

    [Fact]
    public async Task RNN_returned_from_a_factory_method_that_training_code_calls()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            static class Layers
            {
                public static RNN Recurrent(long input, long hidden) => {|#0:nn.RNN(input, hidden, dropout: 0.1)|};
            }

            static class Trainer
            {
                public static void Train(Tensor x)
                {
                    var rnn = Layers.Recurrent(4, 16);
                    var optimizer = optim.SGD(rnn.parameters(), 0.1);
                    rnn.call(x).Item1.sum().backward();
                    optimizer.step();
                }
            }
            """, Rnn(0, "RNN"));
    }

    [Fact]
    public async Task RNN_created_inside_a_training_loop_helper()
    {
        await VerifyProgramAsync("""
            using System.Linq;
            using static TorchSharp.torch;

            foreach (var hidden in new[] { 16, 32, 64 })
            {
                var model = {|#0:nn.RNN(1, hidden)|};
                var optimizer = optim.Adam(model.parameters());
                var (y, _) = model.call(randn(50, 4, 1), null);
                y.pow(2).mean().backward();
                optimizer.step();
            }
            """, Rnn(0, "model"));
    }

    // ---------------------------------------------------------------- negatives

    [Fact]
    public async Task RNN_local_of_a_method_that_never_trains_is_left_alone()
    {
        // An API or shape check: the choice of cell is not made here.
        await Verify.VerifyAsync("""
            using System.Linq;
            using static TorchSharp.torch;

            static class Experiment
            {
                public static long Run()
                {
                    var encoder = nn.RNN(8, 8, numLayers: 3, bidirectional: true);
                    return encoder.parameters().Count();
                }
            }
            """);
    }

    [Fact]
    public async Task Top_level_script_that_only_runs_an_RNN_is_left_alone()
    {
        await VerifyProgramAsync("""
            using static TorchSharp.torch;

            var rnn = nn.RNN(1, 16, batchFirst: true);
            var (output, hidden) = rnn.call(randn(4, 50, 1));
            System.Console.WriteLine(hidden.shape[0]);
            """);
    }

    [Fact]
    public async Task RNN_in_a_test_that_assigns_its_weights_itself_is_left_alone()
    {
        await Verify.VerifyAsync("""
            using static TorchSharp.torch;

            static class RnnTests
            {
                public static void ForwardMatchesHandComputation()
                {
                    var rnn = nn.RNN(2, 2, bias: false);
                    using (no_grad())
                    {
                        rnn.get_weight_ih(0).copy_(eye(2));
                        rnn.get_weight_hh(0).copy_(zeros(2, 2));
                    }

                    var (y, _) = rnn.call(ones(3, 1, 2));
                    System.Console.WriteLine(y.sum().item<float>());
                }
            }
            """);
    }

    [Fact]
    public async Task RNN_returned_from_a_factory_method_nothing_trains_is_left_alone()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            static class Layers
            {
                public static RNN Recurrent(long input, long hidden) => nn.RNN(input, hidden, dropout: 0.1);
            }
            """);
    }

    [Fact]
    public async Task Model_built_only_to_be_saved_is_left_alone()
    {
        await Verify.VerifyAsync("""
            using static TorchSharp.torch;

            static class Export
            {
                public static void Save(string path)
                {
                    var rnn = nn.RNN(4, 8);
                    rnn.save(path);
                }
            }
            """);
    }


    [Fact]
    public async Task LSTM_model_is_not_reported()
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
                    lstm = nn.LSTM(2, hidden, batchFirst: true);
                    head = nn.Linear(hidden, 1);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor input)
                {
                    var (output, _, _) = lstm.call(input);
                    return head.call(output.select(1, -1));
                }
            }
            """);
    }

    [Fact]
    public async Task GRU_and_gated_cells_are_not_reported()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Gated : nn.Module<Tensor, Tensor>
            {
                private readonly GRU gru = nn.GRU(3, 16, numLayers: 2);
                private readonly GRUCell gruCell = nn.GRUCell(16, 16);
                private readonly LSTMCell lstmCell = nn.LSTMCell(16, 16);

                public Gated() : base("gated") => RegisterComponents();

                public override Tensor forward(Tensor x) => gruCell.call(gru.call(x, null).Item1[-1], null);
            }
            """);
    }

    [Fact]
    public async Task RNN_received_as_a_parameter_is_reported_where_it_is_created_not_where_it_is_used()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Wrapper : nn.Module<Tensor, Tensor>
            {
                private readonly RNN inner;

                public Wrapper(RNN inner) : base("wrapper")
                {
                    this.inner = inner;
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => inner.call(x, null).Item1;
            }
            """);
    }

    [Fact]
    public async Task User_class_named_RNN_is_not_TorchSharp()
    {
        await Verify.VerifyAsync("""
            namespace MyNets
            {
                class RNN
                {
                    public RNN(int input, int hidden) { }
                }

                static class nn
                {
                    public static RNN RNN(int input, int hidden) => new RNN(input, hidden);
                    public static RNN RNNCell(int input, int hidden) => new RNN(input, hidden);
                }

                class Model
                {
                    private readonly RNN a = nn.RNN(1, 64);
                    private readonly RNN b = new RNN(1, 64);
                    private readonly RNN c = nn.RNNCell(1, 64);
                }
            }
            """);
    }

    [Fact]
    public async Task User_module_named_RNN_deriving_from_TorchSharp_Module_is_not_the_vanilla_RNN()
    {
        await Verify.VerifyAsync("""
            using static TorchSharp.torch;

            sealed class RNN : nn.Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.GRU gru = nn.GRU(4, 4);

                public RNN() : base("rnn") => RegisterComponents();

                public override Tensor forward(Tensor x) => gru.call(x, null).Item1;
            }

            static class Program
            {
                static void Main()
                {
                    var model = new RNN();
                    System.Console.WriteLine(model.GetName());
                }
            }
            """);
    }

    [Fact]
    public async Task Functional_and_convolutional_models_are_not_reported()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class TemporalConv : nn.Module<Tensor, Tensor>
            {
                private readonly Conv1d conv = nn.Conv1d(1, 16, 5, padding: 2);
                private readonly Linear head = nn.Linear(16, 1);

                public TemporalConv() : base("tcn") => RegisterComponents();

                public override Tensor forward(Tensor x) => head.call(nn.functional.relu(conv.call(x)).mean([2]));
            }
            """);
    }

    [Fact]
    public async Task Type_references_without_creation_are_not_reported()
    {
        await Verify.VerifyAsync("""
            using System;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            static class Inspect
            {
                public static bool IsVanilla(nn.Module module) => module is RNN || module is RNNCell;

                public static Type Kind => typeof(RNN);
            }
            """);
    }

    [Fact]
    public async Task Transformer_encoder_is_not_reported()
    {
        await Verify.VerifyAsync("""
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            sealed class Attention : nn.Module<Tensor, Tensor>
            {
                private readonly TransformerEncoder encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4), 2);

                public Attention() : base("attention") => RegisterComponents();

                public override Tensor forward(Tensor x) => encoder.call(x);
            }
            """);
    }

    [Fact]
    public async Task Non_recurrent_nn_factories_in_a_training_script_are_not_reported()
    {
        await VerifyProgramAsync("""
            using static TorchSharp.torch;

            var model = nn.Sequential(("in", nn.Linear(10, 32)), ("act", nn.Tanh()), ("out", nn.Linear(32, 1)));
            var optimizer = optim.SGD(model.parameters(), 0.01);
            var loss = nn.functional.mse_loss(model.call(randn(8, 10)), zeros(8, 1));
            loss.backward();
            optimizer.step();
            """);
    }

    [Fact]
    public async Task No_TorchSharp_reference_registers_nothing()
    {
        await Verify.VerifyWithoutTorchSharpAsync("""
            class RNN { }
            static class nn { public static RNN RNN(int a, int b) => new RNN(); }
            class C { RNN r = nn.RNN(1, 2); }
            """);
    }

    [Fact]
    public async Task Half_typed_factory_call_does_not_make_the_analyzer_throw()
    {
        await Verify.VerifyAsync("""
            using static TorchSharp.torch;

            static class Draft
            {
                static void Build()
                {
                    var rnn = nn.RNN(1, {|CS1525:)|};
                    var empty = nn.{|CS7036:RNN|}();
                    var cell = nn.{|CS0117:RNNCel|}(1, 2);
                }
            }
            """);
    }
}
