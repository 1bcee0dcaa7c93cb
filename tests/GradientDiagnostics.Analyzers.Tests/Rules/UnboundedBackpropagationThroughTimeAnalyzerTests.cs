using System.Collections.Immutable;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.UnboundedBackpropagationThroughTimeAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

public class UnboundedBackpropagationThroughTimeAnalyzerTests
{
    /// <summary>A GD0002 diagnostic; its additional locations (the fix's anchor and carriers) are checked by the fixer tests.</summary>
    private static DiagnosticResult CarriedState() =>
        Verify.Diagnostic(RuleIdentifiers.UnboundedBackpropagationThroughTime).WithOptions(DiagnosticOptions.IgnoreAdditionalLocations);

    /// <summary>A word-language-model in the shape of PyTorch's example: forward takes and returns the GRU hidden state.</summary>
    private const string RnnLanguageModel = """
        #nullable enable
        using System;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        public sealed class RnnLanguageModel : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
        {
            private readonly Embedding encoder;
            private readonly GRU rnn;
            private readonly Linear decoder;
            private readonly int layers;
            private readonly int hiddenSize;

            public RnnLanguageModel(int tokens, int embedding, int hiddenSize, int layers) : base(nameof(RnnLanguageModel))
            {
                encoder = nn.Embedding(tokens, embedding);
                rnn = nn.GRU(embedding, hiddenSize, layers);
                decoder = nn.Linear(hiddenSize, tokens);
                this.layers = layers;
                this.hiddenSize = hiddenSize;
                RegisterComponents();
            }

            public override (Tensor, Tensor) forward(Tensor input, Tensor hidden)
            {
                var embedded = encoder.call(input);
                var (output, nextHidden) = rnn.call(embedded, hidden);
                return (decoder.call(output), nextHidden);
            }

            public Tensor InitHidden(long batch) => zeros(layers, batch, hiddenSize);
        }
        """;

    [Fact]
    public async Task Word_language_model_carrying_hidden_across_batches_without_repackaging_is_reported()
    {
        var source = RnnLanguageModel + """

            public static class Trainer
            {
                public static void TrainEpoch(RnnLanguageModel model, Tensor data, long bptt, long batch)
                {
                    var optimizer = optim.SGD(model.parameters(), 20.0);
                    var hidden = model.InitHidden(batch);
                    for (long i = 0; i < data.shape[0] - 1; i += bptt)
                    {
                        var input = data[TensorIndex.Slice(i, i + bptt)];
                        var target = data[TensorIndex.Slice(i + 1, i + 1 + bptt)];
                        optimizer.zero_grad();
                        Tensor output;
                        {|#0:(output, hidden) = model.call(input, hidden)|};
                        var loss = nn.functional.cross_entropy(output.view(-1, output.shape[2]), target.reshape(-1));
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "model"));
    }

    [Fact]
    public async Task Word_language_model_that_repackages_hidden_per_batch_is_not_reported()
    {
        var source = RnnLanguageModel + """

            public static class Trainer
            {
                public static void TrainEpoch(RnnLanguageModel model, Tensor data, long bptt, long batch)
                {
                    var optimizer = optim.SGD(model.parameters(), 20.0);
                    var hidden = model.InitHidden(batch);
                    for (long i = 0; i < data.shape[0] - 1; i += bptt)
                    {
                        var input = data[TensorIndex.Slice(i, i + bptt)];
                        var target = data[TensorIndex.Slice(i + 1, i + 1 + bptt)];
                        optimizer.zero_grad();
                        hidden = RepackageHidden(hidden);
                        Tensor output;
                        (output, hidden) = model.call(input, hidden);
                        var loss = nn.functional.cross_entropy(output.view(-1, output.shape[2]), target.reshape(-1));
                        loss.backward();
                        nn.utils.clip_grad_norm_(model.parameters(), 0.25);
                        optimizer.step();
                    }
                }

                // Wraps hidden states in new tensors, to detach them from their history.
                private static Tensor RepackageHidden(Tensor hidden) => hidden.detach();
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task State_fed_back_through_helpers_of_another_class_is_reported_in_the_trainer_that_never_calls_the_module()
    {
        // The trainer's own text calls no module with a state: only following Advance -> Run by name leads to one.
        const string source = """
            using System.Collections.Generic;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public static class Steps
            {
                public static (Tensor Output, Tensor Hidden) Advance(GRU gru, Tensor input, Tensor hidden) => Run(gru, input, hidden);

                private static (Tensor Output, Tensor Hidden) Run(GRU gru, Tensor input, Tensor hidden) => gru.call(input, hidden);
            }

            public sealed class StreamTrainer
            {
                private readonly GRU gru = nn.GRU(8, 16, batchFirst: true);
                private readonly Linear head = nn.Linear(16, 1);

                public void Train(IEnumerable<(Tensor X, Tensor Y)> windows)
                {
                    var optimizer = optim.Adam(gru.parameters());
                    var hidden = zeros(1, 4, 16);
                    foreach (var (x, y) in windows)
                    {
                        optimizer.zero_grad();
                        var (output, next) = Steps.Advance(gru, x, hidden);
                        {|#0:hidden = next|};
                        var loss = nn.functional.mse_loss(head.call(output), y);
                        loss.backward();
                        nn.utils.clip_grad_norm_(gru.parameters(), 1.0);
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "Advance"));
    }

    [Fact]
    public async Task Hidden_state_reset_from_InitHidden_every_batch_is_not_reported()
    {
        var source = RnnLanguageModel + """

            public static class Trainer
            {
                public static void Train(RnnLanguageModel model, Tensor[] batches, Tensor[] targets)
                {
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    for (var epoch = 0; epoch < 5; epoch++)
                    {
                        for (var b = 0; b < batches.Length; b++)
                        {
                            var hidden = model.InitHidden(batches[b].shape[1]);
                            optimizer.zero_grad();
                            var (output, _) = model.call(batches[b], hidden);
                            var loss = nn.functional.cross_entropy(output.view(-1, output.shape[2]), targets[b].reshape(-1));
                            loss.backward();
                            optimizer.step();
                        }
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Lstm_state_deconstructed_and_fed_back_across_tbptt_windows_is_reported_once_for_both_tensors()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class SensorForecaster : nn.Module<Tensor, Tensor>
            {
                public readonly LSTM Lstm;
                private readonly Linear head;

                public SensorForecaster() : base(nameof(SensorForecaster))
                {
                    Lstm = nn.LSTM(8, 64, numLayers: 2, batchFirst: true);
                    head = nn.Linear(64, 1);
                    RegisterComponents();
                }

                public Tensor Head(Tensor features) => head.call(features);

                public override Tensor forward(Tensor input) => throw new System.NotSupportedException();
            }

            public static class WindowTrainer
            {
                public static void Train(SensorForecaster model, Tensor series, Tensor targets, long window)
                {
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    var h = zeros(2, series.shape[0], 64);
                    var c = zeros(2, series.shape[0], 64);
                    for (long start = 0; start + window <= series.shape[1]; start += window)
                    {
                        using var scope = NewDisposeScope();
                        var chunk = series.narrow(1, start, window);
                        Tensor output;
                        {|#0:(output, h, c) = model.Lstm.call(chunk, (h, c))|};
                        var loss = nn.functional.mse_loss(model.Head(output), targets.narrow(1, start, window));
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        h.DetachFromDisposeScope();
                        c.DetachFromDisposeScope();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("(h, c)", "Lstm"));
    }

    [Fact]
    public async Task Lstm_state_detached_at_every_tbptt_window_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public static class WindowTrainer
            {
                public static void Train(Tensor series, Tensor targets, long window)
                {
                    var lstm = nn.LSTM(8, 64, batchFirst: true);
                    var head = nn.Linear(64, 1);
                    var optimizer = optim.Adam(lstm.parameters(), 1e-3);
                    var h = zeros(1, series.shape[0], 64);
                    var c = zeros(1, series.shape[0], 64);
                    for (long start = 0; start + window <= series.shape[1]; start += window)
                    {
                        h = h.detach();
                        c = c.detach();
                        var (output, nextH, nextC) = lstm.call(series.narrow(1, start, window), (h, c));
                        h = nextH;
                        c = nextC;
                        var loss = nn.functional.mse_loss(head.call(output), targets.narrow(1, start, window));
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Online_learner_keeping_gru_state_in_a_field_between_Train_calls_is_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class OnlineAnomalyModel : nn.Module<Tensor, Tensor>
            {
                private readonly GRU gru;
                private readonly Linear head;
                private readonly optim.Optimizer optimizer;
                private Tensor? hidden;

                public OnlineAnomalyModel() : base(nameof(OnlineAnomalyModel))
                {
                    gru = nn.GRU(16, 32, batchFirst: true);
                    head = nn.Linear(32, 16);
                    RegisterComponents();
                    optimizer = optim.Adam(parameters(), 1e-3);
                }

                public override Tensor forward(Tensor input) => head.call(gru.call(input).Item1);

                // Called once per incoming batch of telemetry.
                public float Train(Tensor batch, Tensor next)
                {
                    optimizer.zero_grad();
                    var (output, h) = gru.call(batch, hidden);
                    {|#0:hidden = h|};
                    var loss = nn.functional.mse_loss(head.call(output), next);
                    loss.backward();
                    optimizer.step();
                    return loss.item<float>();
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "gru"));
    }

    [Fact]
    public async Task Online_learner_that_detaches_the_field_state_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class OnlineAnomalyModel : nn.Module<Tensor, Tensor>
            {
                private readonly GRU gru;
                private readonly Linear head;
                private readonly optim.Optimizer optimizer;
                private Tensor? hidden;

                public OnlineAnomalyModel() : base(nameof(OnlineAnomalyModel))
                {
                    gru = nn.GRU(16, 32, batchFirst: true);
                    head = nn.Linear(32, 16);
                    RegisterComponents();
                    optimizer = optim.Adam(parameters(), 1e-3);
                }

                public override Tensor forward(Tensor input) => head.call(gru.call(input).Item1);

                public float Train(Tensor batch, Tensor next)
                {
                    optimizer.zero_grad();
                    var (output, h) = gru.call(batch, hidden);
                    this.hidden = h.detach();
                    var loss = nn.functional.mse_loss(head.call(output), next);
                    loss.backward();
                    optimizer.step();
                    return loss.item<float>();
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task DetachFromDisposeScope_alone_does_not_detach_the_carried_state()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var rnn = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(rnn.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        using var scope = NewDisposeScope();
                        var (output, h) = rnn.call(batches[b], hidden);
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        {|#0:hidden = h.DetachFromDisposeScope()|};
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "rnn"));
    }

    [Fact]
    public async Task MoveToOuterDisposeScope_in_a_helper_does_not_detach_the_carried_state()
    {
        const string source = """
            #nullable enable
            using System.Linq;
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var rnn = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(rnn.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    foreach (var (batch, target) in batches.Zip(targets))
                    {
                        using var scope = NewDisposeScope();
                        var (output, h) = rnn.call(batch, hidden);
                        {|#0:hidden = KeepAlive(h)|};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), target);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }

                private static Tensor KeepAlive(Tensor state) => state.MoveToOuterDisposeScope();
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "rnn"));
    }

    [Fact]
    public async Task Detaching_before_moving_the_state_out_of_the_dispose_scope_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void TrainGru(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    Tensor? hidden = null;
                    for (var b = 0; b < batches.Length; b++)
                    {
                        using var scope = NewDisposeScope();
                        var (output, next) = gru.call(batches[b], hidden);
                        hidden = next.detach().MoveToOuterDisposeScope();
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }

                public static void TrainLstm(Tensor[] batches, Tensor[] targets)
                {
                    var lstm = nn.LSTM(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(lstm.parameters(), 1e-3);
                    var h = zeros(1, 16, 32);
                    var c = zeros(1, 16, 32);
                    (Tensor, Tensor)? state = null;
                    for (var b = 0; b < batches.Length; b++)
                    {
                        using var scope = NewDisposeScope();
                        var (output, h1, c1) = lstm.call(batches[b], (h, c));
                        (h, c) = (h1.detach().MoveToOuterDisposeScope(), c1.detach().MoveToOuterDisposeScope());
                        var (_, h2, c2) = lstm.call(batches[b], state);
                        state = (h2?.detach().DetachFromDisposeScope(), c2.detach().DetachFromDisposeScope());
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task A_nullable_loop_state_detached_with_a_null_check_at_the_top_of_the_loop_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    Tensor? hidden = null;
                    for (var b = 0; b < batches.Length; b++)
                    {
                        hidden = hidden?.detach();
                        using var scope = NewDisposeScope();
                        var (output, next) = gru.call(batches[b], hidden);
                        hidden = next.MoveToOuterDisposeScope();
                        var loss = nn.functional.mse_loss(head.call(hidden[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Detaching_the_next_input_token_does_not_detach_the_hidden_state()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class CharModel : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
            {
                private readonly Embedding embed;
                private readonly GRU gru;
                private readonly Linear output;

                public CharModel(int vocabulary) : base(nameof(CharModel))
                {
                    embed = nn.Embedding(vocabulary, 32);
                    gru = nn.GRU(32, 128);
                    output = nn.Linear(128, vocabulary);
                    RegisterComponents();
                }

                public override (Tensor, Tensor) forward(Tensor token, Tensor hidden)
                {
                    var (y, h) = gru.call(embed.call(token).unsqueeze(0), hidden);
                    return (output.call(y.squeeze(0)), h);
                }
            }

            public static class FreeRunningTrainer
            {
                public static void Train(CharModel model, Tensor text)
                {
                    var optimizer = optim.Adam(model.parameters(), 2e-3);
                    var hidden = zeros(1, 1, 128);
                    var input = text[0].unsqueeze(0);
                    for (long t = 1; t < text.shape[0]; t++)
                    {
                        optimizer.zero_grad();
                        var (logits, h) = model.call(input, hidden);
                        {|#0:hidden = h|};
                        var loss = nn.functional.cross_entropy(logits, text[t].unsqueeze(0));
                        loss.backward();
                        optimizer.step();
                        input = logits.argmax(-1).detach();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "model"));
    }

    [Fact]
    public async Task LstmCell_state_tuple_carried_across_batches_is_reported_at_the_unrolled_store()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public static class CellTrainer
            {
                public static void Train(Tensor[] sequences, Tensor[] targets)
                {
                    var cell = nn.LSTMCell(10, 20);
                    var head = nn.Linear(20, 1);
                    var optimizer = optim.SGD(cell.parameters(), 0.01);
                    (Tensor, Tensor)? state = null;
                    for (var b = 0; b < sequences.Length; b++)
                    {
                        var x = sequences[b];
                        for (long t = 0; t < x.shape[0]; t++)
                        {
                            {|#0:state = cell.call(x[t], state)|};
                        }

                        var loss = nn.functional.mse_loss(head.call(state!.Value.Item1), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("state", "cell"));
    }

    [Fact]
    public async Task LstmCell_unrolled_over_one_sequence_with_state_reset_per_batch_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public static class CellTrainer
            {
                public static void Train(Tensor[] sequences, Tensor[] targets)
                {
                    var cell = nn.LSTMCell(10, 20);
                    var head = nn.Linear(20, 1);
                    var optimizer = optim.SGD(cell.parameters(), 0.01);
                    for (var b = 0; b < sequences.Length; b++)
                    {
                        var x = sequences[b];
                        var h = zeros(x.shape[1], 20);
                        var c = zeros(x.shape[1], 20);
                        for (long t = 0; t < x.shape[0]; t++)
                        {
                            (h, c) = cell.call(x[t], (h, c));
                        }

                        var loss = nn.functional.mse_loss(head.call(h), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task GruCell_truncated_every_k_steps_with_detach_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class StreamTrainer
            {
                public static void Train(Tensor stream, Tensor targets, int k)
                {
                    var cell = nn.GRUCell(3, 24);
                    var head = nn.Linear(24, 1);
                    var optimizer = optim.Adam(cell.parameters(), 1e-3);
                    var h = zeros(1, 24);
                    var loss = zeros(1);
                    for (long t = 0; t < stream.shape[0]; t++)
                    {
                        h = cell.call(stream[t].unsqueeze(0), h);
                        loss = loss + nn.functional.mse_loss(head.call(h), targets[t].unsqueeze(0));
                        if ((t + 1) % k == 0)
                        {
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                            h = h.detach();
                            loss = zeros(1);
                        }
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Backward_with_retain_graph_does_not_excuse_the_carried_state()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var rnn = nn.RNN(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(rnn.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        Tensor output;
                        {|#0:(output, hidden) = rnn.call(batches[b], hidden)|};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward(retain_graph: true);
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "rnn"));
    }

    [Fact]
    public async Task State_holder_whose_Detach_method_detaches_its_tensors_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public sealed class LstmState
            {
                public LstmState(Tensor h, Tensor c) { H = h; C = c; }

                public Tensor H { get; set; }

                public Tensor C { get; set; }

                public void Detach()
                {
                    H = H.detach();
                    C = C.detach();
                }
            }

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var lstm = nn.LSTM(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(lstm.parameters(), 1e-3);
                    var state = new LstmState(zeros(1, 16, 32), zeros(1, 16, 32));
                    for (var b = 0; b < batches.Length; b++)
                    {
                        var (output, h, c) = lstm.call(batches[b], (state.H, state.C));
                        state.H = h;
                        state.C = c;
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        state.Detach();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task State_holder_properties_carried_without_detach_are_reported_per_store()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public sealed class LstmState
            {
                public LstmState(Tensor h, Tensor c) { H = h; C = c; }

                public Tensor H { get; set; }

                public Tensor C { get; set; }
            }

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var lstm = nn.LSTM(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(lstm.parameters(), 1e-3);
                    var state = new LstmState(zeros(1, 16, 32), zeros(1, 16, 32));
                    for (var b = 0; b < batches.Length; b++)
                    {
                        var (output, h, c) = lstm.call(batches[b], (state.H, state.C));
                        {|#0:state.H = h|};
                        {|#1:state.C = c|};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(
            source,
            CarriedState().WithLocation(0).WithArguments("H", "lstm"),
            CarriedState().WithLocation(1).WithArguments("C", "lstm"));
    }

    [Fact]
    public async Task In_place_detach_of_the_carried_state_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        Tensor output;
                        (output, hidden) = gru.call(batches[b], hidden);
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        hidden.detach_();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Sampling_loop_without_backward_may_carry_the_state()
    {
        var source = RnnLanguageModel + """

            public static class Generator
            {
                public static long[] Sample(RnnLanguageModel model, long start, int length)
                {
                    using var noGrad = no_grad();
                    var hidden = model.InitHidden(1);
                    var input = tensor(new[] { start }).view(1, 1);
                    var tokens = new long[length];
                    for (var i = 0; i < length; i++)
                    {
                        Tensor logits;
                        (logits, hidden) = model.call(input, hidden);
                        var next = logits.view(-1).softmax(0).multinomial(1);
                        tokens[i] = next.item<long>();
                        input = next.view(1, 1);
                    }

                    return tokens;
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Encoder_state_handed_to_a_decoder_within_one_step_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class Seq2Seq : nn.Module<Tensor, Tensor, Tensor>
            {
                private readonly GRU encoder;
                private readonly GRU decoder;
                private readonly Linear project;

                public Seq2Seq() : base(nameof(Seq2Seq))
                {
                    encoder = nn.GRU(16, 64);
                    decoder = nn.GRU(16, 64);
                    project = nn.Linear(64, 16);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor source, Tensor shiftedTarget)
                {
                    var (_, context) = encoder.call(source);
                    var (decoded, _) = decoder.call(shiftedTarget, context);
                    return project.call(decoded);
                }
            }

            public static class Trainer
            {
                public static void Train(Seq2Seq model, Tensor[] sources, Tensor[] targets)
                {
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    for (var epoch = 0; epoch < 10; epoch++)
                    {
                        for (var b = 0; b < sources.Length; b++)
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(sources[b], targets[b]), targets[b]);
                            loss.backward();
                            optimizer.step();
                        }
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task User_classes_named_LSTM_and_GRU_are_not_recurrent_modules()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public sealed class GRU
            {
                public (Tensor, Tensor) call(Tensor input, Tensor hidden) => (input, hidden + input.mean());
            }

            public static class Trainer
            {
                public static void Train(Tensor[] batches)
                {
                    var gru = new GRU();
                    var weight = randn(4, requires_grad: true);
                    var optimizer = optim.SGD(new[] { new TorchSharp.Modules.Parameter(weight) }, 0.1);
                    var hidden = zeros(4);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        Tensor output;
                        (output, hidden) = gru.call(batches[b] * weight, hidden);
                        var loss = output.sum();
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Detach_method_configured_in_editorconfig_counts_as_detach()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            namespace MyCompany.Training
            {
                public interface IStateTruncator
                {
                    Tensor Truncate(Tensor state);
                }

                public static class Trainer
                {
                    public static void Train(Tensor[] batches, Tensor[] targets, IStateTruncator truncator)
                    {
                        var gru = nn.GRU(4, 32);
                        var head = nn.Linear(32, 1);
                        var optimizer = optim.Adam(gru.parameters(), 1e-3);
                        var hidden = zeros(1, 16, 32);
                        for (var b = 0; b < batches.Length; b++)
                        {
                            var (output, h) = gru.call(batches[b], hidden);
                            hidden = truncator.Truncate(h);
                            var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                        }
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, "gradient_diagnostics.detach_methods = MyCompany.Training.IStateTruncator.Truncate\n");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Per_folder_detach_methods_reached_through_a_shared_helper_apply_to_each_trainers_own_file_in_any_order(bool reversed)
    {
        // Both trainers cut their state with the same helper, which calls an interface method that only folder a/ configures
        // as a detach method. Whichever trainer is analysed first, a/ detaches and b/ carries the state across backward().
        static string Trainer(string name, string store) => $$"""
            using TorchSharp;
            using static TorchSharp.torch;

            namespace MyCompany.Training;

            public static class {{name}}
            {
                public static void Train(Tensor[] batches, Tensor[] targets, IStateTruncator truncator)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        var (output, h) = gru.call(batches[b], hidden);
                        {{store}};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        var sources = new List<(string, string)>
        {
            ("/a/TrainerA.cs", Trainer("TrainerA", "hidden = StateTools.Cut(truncator, h)")),
            ("/b/TrainerB.cs", Trainer("TrainerB", "{|#0:hidden = StateTools.Cut(truncator, h)|}")),
            ("/StateTools.cs", """
                using TorchSharp;
                using static TorchSharp.torch;

                namespace MyCompany.Training;

                public interface IStateTruncator
                {
                    Tensor Truncate(Tensor state);
                }

                public static class StateTools
                {
                    public static Tensor Cut(IStateTruncator truncator, Tensor state) => truncator.Truncate(state);
                }
                """),
        };
        if (reversed)
        {
            sources.Reverse();
        }

        var test = new Verify.Test();
        test.TestState.Sources.AddRange(sources.Select(source => (source.Item1, Microsoft.CodeAnalysis.Text.SourceText.From(source.Item2))));
        test.TestState.AnalyzerConfigFiles.Add(("/a/.editorconfig", Microsoft.CodeAnalysis.Text.SourceText.From("[*.cs]\ngradient_diagnostics.detach_methods = MyCompany.Training.IStateTruncator.Truncate\n")));
        test.ExpectedDiagnostics.Add(CarriedState().WithLocation(0).WithArguments("hidden", "gru"));
        await test.RunAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Stateful_model_forward_keeping_state_in_a_field_trained_per_call_is_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class StreamingLstm : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm;
                private readonly Linear head;
                private (Tensor, Tensor)? state;

                public StreamingLstm() : base(nameof(StreamingLstm))
                {
                    lstm = nn.LSTM(6, 48, batchFirst: true);
                    head = nn.Linear(48, 6);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor input)
                {
                    var (output, h, c) = lstm.call(input, state);
                    {|#0:state = (h, c)|};
                    return head.call(output);
                }

                public void Learn(Tensor chunk, Tensor target, optim.Optimizer optimizer)
                {
                    optimizer.zero_grad();
                    var loss = nn.functional.mse_loss(forward(chunk), target);
                    loss.backward();
                    optimizer.step();
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("state", "lstm"));
    }

    [Fact]
    public async Task Detach_method_not_configured_leaves_an_opaque_truncation_unrecognised()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            namespace MyCompany.Training
            {
                public interface IStateTruncator
                {
                    Tensor Truncate(Tensor state);
                }

                public static class Trainer
                {
                    public static void Train(Tensor[] batches, Tensor[] targets, IStateTruncator truncator)
                    {
                        var gru = nn.GRU(4, 32);
                        var head = nn.Linear(32, 1);
                        var optimizer = optim.Adam(gru.parameters(), 1e-3);
                        var hidden = zeros(1, 16, 32);
                        for (var b = 0; b < batches.Length; b++)
                        {
                            var (output, h) = gru.call(batches[b], hidden);
                            hidden = truncator.Truncate(h);
                            var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                        }
                    }
                }
            }
            """;

        // Truncate comes from an interface, so nothing proves it detaches; without the option the state is taken as still attached.
        await Verify.VerifyAsync(source.Replace("hidden = truncator.Truncate(h);", "{|#0:hidden = truncator.Truncate(h)|};"), CarriedState().WithLocation(0).WithArguments("hidden", "gru"));
    }

    [Fact]
    public async Task Online_learner_detaching_a_nullable_field_with_a_null_conditional_call_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class OnlineForecaster
            {
                private readonly GRUCell cell = nn.GRUCell(3, 24);
                private readonly Linear head = nn.Linear(24, 1);
                private readonly optim.Optimizer optimizer;
                private Tensor? hidden;

                public OnlineForecaster()
                {
                    optimizer = optim.Adam(cell.parameters(), 1e-3);
                }

                public void Observe(Tensor window, Tensor target)
                {
                    hidden = hidden?.detach();
                    for (long t = 0; t < window.shape[0]; t++)
                    {
                        hidden = cell.call(window[t].unsqueeze(0), hidden);
                    }

                    var loss = nn.functional.mse_loss(head.call(hidden!), target);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task State_reset_to_null_or_zeros_after_each_step_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets, bool statelessBetweenBatches)
                {
                    var rnn = nn.RNN(4, 32, nonLinearity: nn.NonLinearities.ReLU);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(rnn.parameters(), 1e-3);
                    Tensor? hidden = null;
                    for (var b = 0; b < batches.Length; b++)
                    {
                        Tensor output;
                        (output, hidden) = rnn.call(batches[b], hidden);
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        hidden = statelessBetweenBatches ? null : zeros(1, 16, 32);
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Trainer_property_holding_the_state_between_batches_is_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class ChurnTrainer
            {
                private readonly LSTM lstm = nn.LSTM(12, 40, batchFirst: true);
                private readonly Linear head = nn.Linear(40, 2);

                public (Tensor, Tensor)? State { get; private set; }

                public void Fit(Tensor[] sessions, Tensor[] labels, int epochs)
                {
                    var optimizer = optim.Adam(lstm.parameters(), 1e-3);
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        for (var i = 0; i < sessions.Length; i++)
                        {
                            var (output, h, c) = lstm.call(sessions[i], State);
                            {|#0:State = (h, c)|};
                            var loss = nn.functional.cross_entropy(head.call(output.select(1, -1)), labels[i]);
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                        }
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("State", "lstm"));
    }

    [Fact]
    public async Task Top_level_training_loop_with_rnn_cell_state_carried_across_batches_is_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            var cell = nn.RNNCell(2, 16);
            var head = nn.Linear(16, 1);
            var optimizer = optim.SGD(cell.parameters(), 0.05);
            var h = zeros(32, 16);
            foreach (var (inputs, target) in AddingTask.Batches(100))
            {
                for (long t = 0; t < inputs.shape[1]; t++)
                {
                    {|#0:h = cell.call(inputs.select(1, t), h)|};
                }

                var loss = nn.functional.mse_loss(head.call(h), target);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }

            static class AddingTask
            {
                public static System.Collections.Generic.IEnumerable<(Tensor, Tensor)> Batches(int count)
                {
                    for (var i = 0; i < count; i++)
                    {
                        yield return (rand(32, 50, 2), rand(32, 1));
                    }
                }
            }
            """;

        var test = new Verify.Test { TestCode = source };
        test.TestState.OutputKind = OutputKind.ConsoleApplication;
        test.ExpectedDiagnostics.Add(CarriedState().WithLocation(0).WithArguments("h", "cell"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Local_function_training_one_batch_on_a_captured_state_is_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        TrainBatch(batches[b], targets[b]);
                    }

                    void TrainBatch(Tensor batch, Tensor target)
                    {
                        var (output, h) = gru.call(batch, hidden);
                        {|#0:hidden = h|};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), target);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "gru"));
    }

    [Fact]
    public async Task Stateful_model_used_only_for_inference_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class StreamingLstm : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm;
                private readonly Linear head;
                private (Tensor, Tensor)? state;

                public StreamingLstm() : base(nameof(StreamingLstm))
                {
                    lstm = nn.LSTM(6, 48, batchFirst: true);
                    head = nn.Linear(48, 6);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor input)
                {
                    var (output, h, c) = lstm.call(input, state);
                    state = (h, c);
                    return head.call(output);
                }
            }

            public static class Monitor
            {
                public static float[] Score(StreamingLstm model, Tensor[] chunks)
                {
                    using var noGrad = no_grad();
                    model.eval();
                    var scores = new float[chunks.Length];
                    for (var i = 0; i < chunks.Length; i++)
                    {
                        scores[i] = model.call(chunks[i]).abs().mean().item<float>();
                    }

                    return scores;
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Tuple_state_detached_by_a_user_helper_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var lstm = nn.LSTM(4, 32, numLayers: 2);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(lstm.parameters(), 1e-3);
                    var state = (zeros(2, 16, 32), zeros(2, 16, 32));
                    foreach (var (batch, target) in System.Linq.Enumerable.Zip(batches, targets))
                    {
                        state = Truncate(state);
                        var (output, h, c) = lstm.call(batch, state);
                        state = (h, c);
                        var loss = nn.functional.mse_loss(head.call(output[-1]), target);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }

                private static (Tensor, Tensor) Truncate((Tensor H, Tensor C) state) => (state.H.detach(), state.C.detach());
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Stateful_model_whose_DetachState_the_training_loop_calls_is_not_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class StreamingGru : nn.Module<Tensor, Tensor>
            {
                private readonly GRU gru;
                private readonly Linear head;
                private Tensor? hidden;

                public StreamingGru() : base(nameof(StreamingGru))
                {
                    gru = nn.GRU(6, 48, batchFirst: true);
                    head = nn.Linear(48, 6);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor input)
                {
                    var (output, h) = gru.call(input, hidden);
                    hidden = h;
                    return head.call(output);
                }

                // Truncated BPTT: keep the state's value, drop its history.
                public void DetachState() => hidden = hidden?.detach();
            }

            public static class StreamTrainer
            {
                public static void Train(StreamingGru model, Tensor[] chunks, Tensor[] targets)
                {
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    for (var i = 0; i < chunks.Length; i++)
                    {
                        model.DetachState();
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(chunks[i]), targets[i]);
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task RiskyTraining_sample_reports_a_carried_hidden_state()
    {
        var diagnostics = await AnalyzeSampleAsync("RiskyTraining");

        Assert.Contains(diagnostics, d => d.Id == RuleIdentifiers.UnboundedBackpropagationThroughTime);
    }

    [Theory]
    [InlineData("AddingProblem")]
    [InlineData("SafeTraining")]
    public async Task Samples_that_keep_no_undetached_state_report_nothing(string sample)
    {
        if (!Directory.Exists(Path.Combine(RepositoryRoot(), "samples", sample)))
        {
            return;
        }

        var diagnostics = await AnalyzeSampleAsync(sample);

        Assert.DoesNotContain(diagnostics, d => d.Id == RuleIdentifiers.UnboundedBackpropagationThroughTime);
    }

    /// <summary>
    /// Runs the analyzer over every source file of a sample as it is in the repository. References the sample needs
    /// beyond TorchSharp (a command-line parser, the runtime) may be missing; the training code still binds.
    /// </summary>
    private static async Task<IReadOnlyList<Diagnostic>> AnalyzeSampleAsync(string sample)
    {
        var directory = Path.Combine(RepositoryRoot(), "samples", sample);
        var files = Directory.GetFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && !f.Contains(Path.DirectorySeparatorChar + "bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f))
            .Append(CSharpSyntaxTree.ParseText(ImplicitUsings, parse, "ImplicitUsings.cs"));
        var references = await Microsoft.CodeAnalysis.Testing.ReferenceAssemblies.Net.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None);
        var compilation = CSharpCompilation.Create(
            sample,
            trees,
            references.Add(GradientDiagnostics.Testing.TorchSharpReferences.TorchSharp),
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        var failures = new List<Exception>();
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
            (exception, _, _) => failures.Add(exception),
            concurrentAnalysis: false,
            logAnalyzerExecutionTime: false);
        var diagnostics = await compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new UnboundedBackpropagationThroughTimeAnalyzer()), options)
            .GetAnalyzerDiagnosticsAsync();
        Assert.Empty(failures);
        return diagnostics;
    }

    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.Linq;
        """;

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Diagnostics.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Diagnostics.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task State_carried_through_try_finally_async_and_lambda_training_loops_is_reported()
    {
        const string source = """
            #nullable enable
            using System;
            using System.Collections.Generic;
            using System.Threading.Tasks;
            using TorchSharp;
            using static TorchSharp.torch;

            public sealed class AsyncTrainer
            {
                private readonly TorchSharp.Modules.GRU gru = nn.GRU(4, 32);
                private readonly TorchSharp.Modules.Linear head = nn.Linear(32, 1);

                public async Task TrainAsync(IAsyncEnumerable<(Tensor X, Tensor Y)> stream)
                {
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    Tensor? hidden = null;
                    await foreach (var (x, y) in stream)
                    {
                        try
                        {
                            var (output, h) = gru.call(x, hidden);
                            {|#0:hidden = h|};
                            var loss = nn.functional.mse_loss(head.call(output[-1]), y);
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                        }
                        catch (ExternalException error) when (error.Message.Contains("out of memory"))
                        {
                            hidden = null;
                            continue;
                        }
                        finally
                        {
                            GC.KeepAlive(y);
                        }

                        await Task.Yield();
                    }
                }

                public Action<Tensor, Tensor> MakeStep()
                {
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    return (x, y) =>
                    {
                        var (output, h) = gru.call(x, hidden);
                        {|#1:hidden = h|};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), y);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    };
                }

                public IEnumerable<float> Steps(Tensor[] xs, Tensor[] ys)
                {
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    var i = 0;
                    while (true)
                    {
                        switch (i < xs.Length ? 1 : 0)
                        {
                            case 0:
                                yield break;
                        }

                        var (output, h) = gru.call(xs[i], hidden);
                        hidden = h;
                        {|#2:hidden = i % 10 == 0 ? hidden.detach() : hidden|};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), ys[i]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        yield return loss.item<float>();
                        i++;
                    }
                }
            }

            public sealed class ExternalException : Exception
            {
            }
            """;

        await Verify.VerifyAsync(
            source,
            CarriedState().WithLocation(0).WithArguments("hidden", "gru"),
            CarriedState().WithLocation(1).WithArguments("hidden", "gru"),
            CarriedState().WithLocation(2).WithArguments("hidden", "gru"));
    }

    [Fact]
    public async Task Per_batch_step_storing_state_into_a_ref_parameter_or_a_holder_argument_is_reported()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class SessionState
            {
                public Tensor? Hidden { get; set; }
            }

            public sealed class Steps
            {
                private readonly GRU gru = nn.GRU(4, 32);
                private readonly Linear head = nn.Linear(32, 1);
                private readonly optim.Optimizer optimizer;

                public Steps()
                {
                    optimizer = optim.Adam(gru.parameters(), 1e-3);
                }

                public void TrainBatch(Tensor x, Tensor y, ref Tensor? hidden)
                {
                    var (output, h) = gru.call(x, hidden);
                    {|#0:hidden = h|};
                    Optimise(nn.functional.mse_loss(head.call(output[-1]), y));
                }

                public void TrainSession(Tensor x, Tensor y, SessionState session)
                {
                    var (output, h) = gru.call(x, session.Hidden);
                    {|#1:session.Hidden = h|};
                    Optimise(nn.functional.mse_loss(head.call(output[-1]), y));
                }

                public void TrainSessionTruncated(Tensor x, Tensor y, SessionState session)
                {
                    var (output, h) = gru.call(x, session.Hidden?.detach());
                    session.Hidden = h;
                    Optimise(nn.functional.mse_loss(head.call(output[-1]), y));
                }

                private void Optimise(Tensor loss)
                {
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
            """;

        await Verify.VerifyAsync(
            source,
            CarriedState().WithLocation(0).WithArguments("hidden", "gru"),
            CarriedState().WithLocation(1).WithArguments("Hidden", "gru"));
    }

    [Fact]
    public async Task Stateful_model_reset_only_once_per_epoch_still_carries_state_across_batches()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class StatefulGru : nn.Module<Tensor, Tensor>
            {
                private readonly GRU gru;
                private readonly Linear head;

                public StatefulGru() : base(nameof(StatefulGru))
                {
                    gru = nn.GRU(7, 32, batchFirst: true);
                    head = nn.Linear(32, 1);
                    RegisterComponents();
                }

                public Tensor? State { get; set; }

                public override Tensor forward(Tensor x)
                {
                    var (y, h) = gru.call(x, State);
                    {|#0:State = h|};
                    return head.call(y);
                }

                public void ResetState() => State = null;
            }

            public static class Program
            {
                public static void Train(StatefulGru model, Tensor[] batches, Tensor[] targets)
                {
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    for (var epoch = 0; epoch < 5; epoch++)
                    {
                        model.ResetState();
                        for (var i = 0; i < batches.Length; i++)
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(batches[i]), targets[i]);
                            loss.backward();
                            optimizer.step();
                        }
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("State", "gru"));
    }

    [Fact]
    public async Task A_reset_every_fiftieth_chunk_still_carries_the_state_across_the_chunks_between()
    {
        // Between two resets the state of one chunk is fed to the next after backward() freed its graph.
        var source = SensorStream(
            carry: "{|#0:hidden = h|}",
            reset: """
                if (i % 50 == 0)
                {
                    Reset();
                }
                """);

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "gru"));
    }

    [Fact]
    public async Task A_reset_at_sequence_starts_and_a_detach_otherwise_bound_every_chunk()
    {
        var source = SensorStream(
            carry: "hidden = h",
            reset: """
                if (sequenceStarts(i + 1))
                {
                    Reset();
                }
                else
                {
                    Detach();
                }
                """);

        await Verify.VerifyAsync(source);
    }

    /// <summary>An online trainer that keeps its GRU state in a field between chunks; <paramref name="reset"/> runs after each chunk.</summary>
    private static string SensorStream(string carry, string reset) => $$"""
        #nullable enable
        using System;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        public sealed class SensorStream
        {
            private readonly GRU gru = nn.GRU(3, 48, batchFirst: true);
            private readonly Linear head = nn.Linear(48, 1);
            private readonly optim.Optimizer optimizer;
            private Tensor? hidden;

            public SensorStream()
            {
                optimizer = optim.SGD(gru.parameters(), 0.01);
            }

            public void Reset() => hidden = null;

            public void Detach() => hidden = hidden?.detach();

            public float TrainChunk(Tensor chunk, Tensor target)
            {
                optimizer.zero_grad();
                var (output, h) = gru.call(chunk, hidden);
                {{carry}};
                var loss = nn.functional.mse_loss(head.call(output.select(1, -1)), target);
                loss.backward();
                optimizer.step();
                return loss.item<float>();
            }

            public void Run(Func<int, (Tensor Chunk, Tensor Target)> source, int chunks, Func<int, bool> sequenceStarts)
            {
                for (var i = 0; i < chunks; i++)
                {
                    var (chunk, target) = source(i);
                    TrainChunk(chunk, target);
                    {{reset.Replace("\n", "\n            ")}}
                }
            }
        }
        """;

    [Fact]
    public async Task Discarding_the_result_of_detach_does_not_detach_the_state()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        Tensor output;
                        {|#0:(output, hidden) = gru.call(batches[b], hidden)|};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        hidden.detach();
                        Log(loss, hidden);
                    }
                }

                // Reads detached copies for logging; the caller's state is untouched.
                private static void Log(Tensor loss, Tensor hidden) =>
                    System.Console.WriteLine($"loss {loss.detach().item<float>():F4} |h| {hidden.detach().norm().item<float>():F3}");
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "gru"));
    }

    [Fact]
    public async Task Cell_taken_from_a_ModuleList_is_named_by_its_list()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class StackedCells : nn.Module<Tensor, Tensor>
            {
                public readonly ModuleList<GRUCell> Cells = new(nn.GRUCell(4, 16), nn.GRUCell(16, 16));

                public StackedCells() : base(nameof(StackedCells)) => RegisterComponents();

                public override Tensor forward(Tensor input) => throw new System.NotSupportedException();
            }

            public static class Trainer
            {
                public static void Train(StackedCells model, Tensor[] sequences, Tensor[] targets)
                {
                    var head = nn.Linear(16, 1);
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    var lower = zeros(8, 16);
                    var upper = zeros(8, 16);
                    for (var b = 0; b < sequences.Length; b++)
                    {
                        // Only the upper layer's state is truncated; the lower one still chains every batch.
                        upper = upper.detach();
                        for (long t = 0; t < sequences[b].shape[0]; t++)
                        {
                            {|#0:lower = model.Cells[0].call(sequences[b][t], lower)|};
                            upper = model.Cells[1].call(lower, upper);
                        }

                        var loss = nn.functional.mse_loss(head.call(upper), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("lower", "Cells"));
    }

    [Fact]
    public async Task Detach_in_a_finally_block_is_seen_and_a_store_in_a_catch_block_is_reported()
    {
        const string source = """
            #nullable enable
            using System.Runtime.InteropServices;
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        try
                        {
                            Tensor output;
                            (output, hidden) = gru.call(batches[b], hidden);
                            var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                        }
                        finally
                        {
                            hidden = hidden.detach();
                        }
                    }
                }

                public static void TrainWithFallback(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        var (output, h) = gru.call(batches[b], hidden);
                        try
                        {
                            var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                            hidden = h.detach();
                        }
                        catch (ExternalException)
                        {
                            // Keep going from the last state when a batch fails.
                            {|#0:hidden = h|};
                        }
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("hidden", "gru"));
    }

    [Fact]
    public async Task Per_session_state_kept_in_a_dictionary_is_reported_at_the_store_unless_detached()
    {
        const string source = """
            #nullable enable
            using System.Collections.Generic;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class SessionRecommender
            {
                private readonly Embedding items = nn.Embedding(1000, 32);
                private readonly GRU gru = nn.GRU(32, 32, batchFirst: true);
                private readonly Linear scores = nn.Linear(32, 1000);
                private readonly optim.Optimizer optimizer;
                private readonly Dictionary<string, Tensor> states = new();
                private readonly Dictionary<string, Tensor> truncatedStates = new();

                public SessionRecommender() => optimizer = optim.Adagrad(gru.parameters(), 0.05);

                public void OnClick(string session, long previous, long clicked)
                {
                    var state = states.TryGetValue(session, out var h) ? h : zeros(1, 1, 32);
                    var (output, next) = gru.call(items.call(tensor(new[] { previous })).view(1, 1, -1), state);
                    {|#0:states[session] = next|};
                    Learn(output, clicked);
                }

                public void OnClickTruncated(string session, long previous, long clicked)
                {
                    var state = truncatedStates.GetValueOrDefault(session) ?? zeros(1, 1, 32);
                    var (output, next) = gru.call(items.call(tensor(new[] { previous })).view(1, 1, -1), state);
                    truncatedStates[session] = next.detach();
                    Learn(output, clicked);
                }

                public void OnSessionEnd(string session) => states.Remove(session);

                private void Learn(Tensor output, long clicked)
                {
                    var loss = nn.functional.cross_entropy(scores.call(output.view(1, -1)), tensor(new[] { clicked }));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("states", "gru"));
    }

    [Fact]
    public async Task Copying_the_carried_state_into_a_local_of_the_iteration_keeps_the_report_at_the_carrying_store()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    Tensor? carried = null;
                    for (var b = 0; b < batches.Length; b++)
                    {
                        var initial = carried ?? zeros(1, 16, 32);
                        var (output, h) = gru.call(batches[b], initial);
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        {|#0:carried = h|};
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, CarriedState().WithLocation(0).WithArguments("carried", "gru"));
    }

    [Fact]
    public async Task Validation_state_carried_under_no_grad_between_epochs_is_not_reported()
    {
        var source = RnnLanguageModel + """

            public static class Trainer
            {
                public static void Fit(RnnLanguageModel model, Tensor[] train, Tensor[] validation, int epochs)
                {
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    var validationHidden = model.InitHidden(validation[0].shape[1]);
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        foreach (var batch in train)
                        {
                            var hidden = model.InitHidden(batch.shape[1]);
                            var (output, _) = model.call(batch.narrow(0, 0, batch.shape[0] - 1), hidden);
                            var loss = nn.functional.cross_entropy(output.view(-1, output.shape[2]), batch.narrow(0, 1, batch.shape[0] - 1).reshape(-1));
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                        }

                        using (no_grad())
                        {
                            foreach (var batch in validation)
                            {
                                Tensor output;
                                (output, validationHidden) = model.call(batch, validationHidden);
                            }
                        }
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Incomplete_code_does_not_throw()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class Trainer
            {
                public static void Train(Tensor[] batches)
                {
                    var gru = nn.GRU(4, 32);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        var (output, h) = gru.call(batches[b], hidden);
                        hidden = h.{|CS1001:;|}
                        output.sum().backward();
                        {|CS0103:optimizer|}.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public async Task Compilation_without_TorchSharp_reports_nothing()
    {
        const string source = """
            public static class Trainer
            {
                public static void Train()
                {
                    var hidden = 0.0;
                    for (var b = 0; b < 10; b++)
                    {
                        hidden = hidden * 0.5 + b;
                    }
                }
            }
            """;

        await Verify.VerifyWithoutTorchSharpAsync(source);
    }
}
