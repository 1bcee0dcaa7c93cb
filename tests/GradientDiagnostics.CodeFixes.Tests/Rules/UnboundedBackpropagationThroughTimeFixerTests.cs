using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using TorchSharp;
using Verify = GradientDiagnostics.Testing.TorchSharpCodeFixVerifier<
    GradientDiagnostics.Analyzers.UnboundedBackpropagationThroughTimeAnalyzer,
    GradientDiagnostics.CodeFixes.UnboundedBackpropagationThroughTimeFixer>;

namespace GradientDiagnostics.CodeFixes.Tests.Rules;

public class UnboundedBackpropagationThroughTimeFixerTests
{
    [Fact]
    public async Task Detaches_the_hidden_state_right_after_the_store_when_the_iteration_does_not_read_it_again()
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
                        {|GD0002:(output, hidden) = gru.call(batches[b], hidden)|};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        const string fixedSource = """
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
                        hidden = hidden.detach();
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Keeps_blank_lines_and_comments_around_the_carry_and_the_store()
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
                    var state = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        // One window of the stream.

                        var (output, h) = gru.call(batches[b], hidden);

                        {|GD0002:hidden = h|};   // carried to the next window

                        Tensor second;
                        {|GD0002:(second, state) = gru.call(batches[b], state)|};

                        var loss = nn.functional.mse_loss(head.call(output[-1] + second[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        var fixedSource = System.Text.RegularExpressions.Regex.Replace(source, @"\{\|GD0002:(.*?)\|\}", "$1")
            .Replace("hidden = h;", "hidden = h.detach();", StringComparison.Ordinal)
            .Replace("(second, state) = gru.call(batches[b], state);", "(second, state) = gru.call(batches[b], state);\n            state = state.detach();", StringComparison.Ordinal);

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Detaches_both_lstm_tensors_at_the_top_of_the_training_loop_when_the_iteration_still_reads_them()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
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
                        using var scope = NewDisposeScope();
                        Tensor output;
                        {|GD0002:(output, h, c) = lstm.call(series.narrow(1, start, window), (h, c))|};
                        var loss = nn.functional.mse_loss(head.call(output), targets.narrow(1, start, window));
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        h.DetachFromDisposeScope();
                        c.DetachFromDisposeScope();
                    }
                }
            }
            """;
        const string fixedSource = """
            #nullable enable
            using TorchSharp;
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
                        using var scope = NewDisposeScope();
                        Tensor output;
                        (output, h, c) = lstm.call(series.narrow(1, start, window), (h, c));
                        var loss = nn.functional.mse_loss(head.call(output), targets.narrow(1, start, window));
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        h.DetachFromDisposeScope();
                        c.DetachFromDisposeScope();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Detaches_the_value_of_a_plain_assignment_that_carries_a_nullable_field_state()
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
                    {|GD0002:hidden = h|};
                    var loss = nn.functional.mse_loss(head.call(output), next);
                    loss.backward();
                    optimizer.step();
                    return loss.item<float>();
                }
            }
            """;
        const string fixedSource = """
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
                    hidden = h.detach();
                    var loss = nn.functional.mse_loss(head.call(output), next);
                    loss.backward();
                    optimizer.step();
                    return loss.item<float>();
                }
            }
            """;

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Detaches_a_nullable_lstm_cell_state_tuple_outside_the_unrolled_cell_loop()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
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
                            {|GD0002:state = cell.call(x[t], state)|};
                        }

                        var loss = nn.functional.mse_loss(head.call(state!.Value.Item1), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        const string fixedSource = """
            #nullable enable
            using TorchSharp;
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
                        state = state.HasValue ? (state.Value.Item1.detach(), state.Value.Item2.detach()) : null;
                        var x = sequences[b];
                        for (long t = 0; t < x.shape[0]; t++)
                        {
                            state = cell.call(x[t], state);
                        }

                        var loss = nn.functional.mse_loss(head.call(state!.Value.Item1), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Detaches_each_tensor_of_a_tuple_assigned_to_a_state_field_kept_by_a_stateful_model_forward()
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
                private (Tensor H, Tensor C) state;

                public StreamingLstm() : base(nameof(StreamingLstm))
                {
                    lstm = nn.LSTM(6, 48, batchFirst: true);
                    head = nn.Linear(48, 6);
                    RegisterComponents();
                    state = (zeros(1, 1, 48), zeros(1, 1, 48));
                }

                public override Tensor forward(Tensor input)
                {
                    var (output, h, c) = lstm.call(input, state);
                    {|GD0002:state = (h, c)|};
                    return head.call(output);
                }
            }

            public static class StreamTrainer
            {
                public static void Train(StreamingLstm model, Tensor[] chunks, Tensor[] targets)
                {
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    for (var i = 0; i < chunks.Length; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(chunks[i]), targets[i]);
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        const string fixedSource = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class StreamingLstm : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm;
                private readonly Linear head;
                private (Tensor H, Tensor C) state;

                public StreamingLstm() : base(nameof(StreamingLstm))
                {
                    lstm = nn.LSTM(6, 48, batchFirst: true);
                    head = nn.Linear(48, 6);
                    RegisterComponents();
                    state = (zeros(1, 1, 48), zeros(1, 1, 48));
                }

                public override Tensor forward(Tensor input)
                {
                    var (output, h, c) = lstm.call(input, state);
                    state = (h.detach(), c.detach());
                    return head.call(output);
                }
            }

            public static class StreamTrainer
            {
                public static void Train(StreamingLstm model, Tensor[] chunks, Tensor[] targets)
                {
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    for (var i = 0; i < chunks.Length; i++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(chunks[i]), targets[i]);
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Fix_all_detaches_every_carried_state_in_the_document()
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
                public static void TrainLstm(Tensor[] batches, Tensor[] targets)
                {
                    var lstm = nn.LSTM(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(lstm.parameters(), 1e-3);
                    var state = new LstmState(zeros(1, 16, 32), zeros(1, 16, 32));
                    for (var b = 0; b < batches.Length; b++)
                    {
                        var (output, h, c) = lstm.call(batches[b], (state.H, state.C));
                        {|GD0002:state.H = h|};
                        {|GD0002:state.C = c|};
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }

                public static void TrainGru(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    foreach (var batch in batches)
                    {
                        using var scope = NewDisposeScope();
                        var (output, h) = gru.call(batch, hidden);
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[0]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        {|GD0002:hidden = h.DetachFromDisposeScope()|};
                    }
                }
            }
            """;
        const string fixedSource = """
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
                public static void TrainLstm(Tensor[] batches, Tensor[] targets)
                {
                    var lstm = nn.LSTM(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(lstm.parameters(), 1e-3);
                    var state = new LstmState(zeros(1, 16, 32), zeros(1, 16, 32));
                    for (var b = 0; b < batches.Length; b++)
                    {
                        var (output, h, c) = lstm.call(batches[b], (state.H, state.C));
                        state.H = h.detach();
                        state.C = c.detach();
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }

                public static void TrainGru(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    foreach (var batch in batches)
                    {
                        using var scope = NewDisposeScope();
                        var (output, h) = gru.call(batch, hidden);
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[0]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                        hidden = h.detach().DetachFromDisposeScope();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Detaches_a_nullable_field_at_the_top_of_a_per_batch_method_when_the_state_is_read_after_the_store()
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
                    for (long t = 0; t < window.shape[0]; t++)
                    {
                        {|GD0002:hidden = cell.call(window[t].unsqueeze(0), hidden)|};
                    }

                    var loss = nn.functional.mse_loss(head.call(hidden!), target);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
            """;
        const string fixedSource = """
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

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Fix_all_puts_the_detaches_of_two_stacked_cells_together_at_the_top_of_the_batch_loop()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class StackedCellTrainer
            {
                public static void Train(Tensor[] sequences, Tensor[] targets)
                {
                    var lower = nn.GRUCell(8, 32);
                    var upper = nn.GRUCell(32, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(lower.parameters(), 1e-3);
                    var h1 = zeros(16, 32);
                    var h2 = zeros(16, 32);
                    for (var b = 0; b < sequences.Length; b++)
                    {
                        var x = sequences[b];
                        for (long t = 0; t < x.shape[0]; t++)
                        {
                            {|GD0002:h1 = lower.call(x[t], h1)|};
                            {|GD0002:h2 = upper.call(h1, h2)|};
                        }

                        var loss = nn.functional.mse_loss(head.call(h2), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        const string fixedSource = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class StackedCellTrainer
            {
                public static void Train(Tensor[] sequences, Tensor[] targets)
                {
                    var lower = nn.GRUCell(8, 32);
                    var upper = nn.GRUCell(32, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(lower.parameters(), 1e-3);
                    var h1 = zeros(16, 32);
                    var h2 = zeros(16, 32);
                    for (var b = 0; b < sequences.Length; b++)
                    {
                        h1 = h1.detach();
                        h2 = h2.detach();
                        var x = sequences[b];
                        for (long t = 0; t < x.shape[0]; t++)
                        {
                            h1 = lower.call(x[t], h1);
                            h2 = upper.call(h1, h2);
                        }

                        var loss = nn.functional.mse_loss(head.call(h2), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Detaches_once_at_the_top_of_the_loop_when_a_branch_stores_the_state_that_a_later_statement_reads()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class AugmentedTrainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        if (b % 2 == 0)
                        {
                            {|GD0002:(_, hidden) = gru.call(batches[b], hidden)|};
                        }
                        else
                        {
                            {|GD0002:(_, hidden) = gru.call(batches[b].flip(0), hidden)|};
                        }

                        var loss = nn.functional.mse_loss(head.call(hidden[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        const string fixedSource = """
            #nullable enable
            using TorchSharp;
            using static TorchSharp.torch;

            public static class AugmentedTrainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters(), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        hidden = hidden.detach();
                        if (b % 2 == 0)
                        {
                            (_, hidden) = gru.call(batches[b], hidden);
                        }
                        else
                        {
                            (_, hidden) = gru.call(batches[b].flip(0), hidden);
                        }

                        var loss = nn.functional.mse_loss(head.call(hidden[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Detaches_the_value_stored_in_a_dictionary_element()
    {
        const string source = """
            #nullable enable
            using System.Collections.Generic;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class SessionRecommender
            {
                private readonly GRU gru = nn.GRU(32, 32, batchFirst: true);
                private readonly Linear scores = nn.Linear(32, 1000);
                private readonly optim.Optimizer optimizer;
                private readonly Dictionary<string, Tensor> states = new();

                public SessionRecommender() => optimizer = optim.Adagrad(gru.parameters(), 0.05);

                public void OnClick(string session, Tensor features, long clicked)
                {
                    var state = states.TryGetValue(session, out var h) ? h : zeros(1, 1, 32);
                    var (output, next) = gru.call(features, state);
                    {|GD0002:states[session] = next|};
                    var loss = nn.functional.cross_entropy(scores.call(output.view(1, -1)), tensor(new[] { clicked }));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
            """;
        const string fixedSource = """
            #nullable enable
            using System.Collections.Generic;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class SessionRecommender
            {
                private readonly GRU gru = nn.GRU(32, 32, batchFirst: true);
                private readonly Linear scores = nn.Linear(32, 1000);
                private readonly optim.Optimizer optimizer;
                private readonly Dictionary<string, Tensor> states = new();

                public SessionRecommender() => optimizer = optim.Adagrad(gru.parameters(), 0.05);

                public void OnClick(string session, Tensor features, long clicked)
                {
                    var state = states.TryGetValue(session, out var h) ? h : zeros(1, 1, 32);
                    var (output, next) = gru.call(features, state);
                    states[session] = next.detach();
                    var loss = nn.functional.cross_entropy(scores.call(output.view(1, -1)), tensor(new[] { clicked }));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
            }
            """;

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task Flagged_loop_fails_on_real_TorchSharp_and_the_fixed_loop_trains()
    {
        const string source = """
            #nullable enable
            using System.Linq;
            using TorchSharp;
            using static TorchSharp.torch;

            public static class CharTrainer
            {
                public static float Train(int batches)
                {
                    manual_seed(7);
                    var embed = nn.Embedding(30, 8);
                    var gru = nn.GRU(8, 16);
                    var head = nn.Linear(16, 30);
                    var optimizer = optim.Adam(gru.parameters().Concat(head.parameters()).Concat(embed.parameters()), 1e-2);
                    var text = randint(0, 30, new long[] { 20 * batches + 1, 4 });
                    var hidden = zeros(1, 4, 16);
                    var loss = zeros(1);
                    for (var b = 0; b < batches; b++)
                    {
                        var input = text.narrow(0, 20 * b, 20);
                        var target = text.narrow(0, 20 * b + 1, 20);
                        Tensor output;
                        {|GD0002:(output, hidden) = gru.call(embed.call(input), hidden)|};
                        loss = nn.functional.cross_entropy(head.call(output).view(-1, 30), target.reshape(-1));
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }

                    return loss.item<float>();
                }
            }
            """;
        var fixedSource = source
            .Replace("{|GD0002:(output, hidden) = gru.call(embed.call(input), hidden)|};", "(output, hidden) = gru.call(embed.call(input), hidden);\n            hidden = hidden.detach();", StringComparison.Ordinal);

        await Verify.VerifyAsync(source, fixedSource);

        var flagged = Assert.Throws<TargetInvocationException>(() => RunTrain(Regex.Replace(source, @"\{\|GD0002:(.*?)\|\}", "$1"), batches: 5));
        Assert.IsType<ExternalException>(flagged.InnerException);
        Assert.Contains("backward through the graph a second time", flagged.InnerException!.Message, StringComparison.Ordinal);

        var loss = RunTrain(fixedSource, batches: 5);
        Assert.True(float.IsFinite(loss) && loss > 0, $"fixed loop ended with loss {loss}");
    }

    [Fact]
    public async Task A_state_moved_out_of_the_iteration_dispose_scope_is_detached_before_the_move_and_trains_on_real_TorchSharp()
    {
        const string source = """
            #nullable enable
            using System.Linq;
            using TorchSharp;
            using static TorchSharp.torch;

            public static class CharTrainer
            {
                public static float Train(int batches)
                {
                    manual_seed(7);
                    var embed = nn.Embedding(30, 8);
                    var gru = nn.GRU(8, 16);
                    var head = nn.Linear(16, 30);
                    var optimizer = optim.Adam(gru.parameters().Concat(head.parameters()).Concat(embed.parameters()), 1e-2);
                    var text = randint(0, 30, new long[] { 20 * batches + 1, 4 });
                    Tensor? hidden = null;
                    var loss = float.NaN;
                    for (var b = 0; b < batches; b++)
                    {
                        using var scope = NewDisposeScope();
                        var input = text.narrow(0, 20 * b, 20);
                        var target = text.narrow(0, 20 * b + 1, 20);
                        optimizer.zero_grad();
                        var (output, next) = gru.call(embed.call(input), hidden);
                        {|GD0002:hidden = next.MoveToOuterDisposeScope()|};
                        var batchLoss = nn.functional.cross_entropy(head.call(output).view(-1, 30), target.reshape(-1));
                        batchLoss.backward();
                        optimizer.step();
                        loss = batchLoss.item<float>();
                    }

                    return loss;
                }
            }
            """;
        var flaggedSource = Regex.Replace(source, @"\{\|GD0002:(.*?)\|\}", "$1");
        var fixedSource = flaggedSource.Replace("hidden = next.MoveToOuterDisposeScope();", "hidden = next.detach().MoveToOuterDisposeScope();", StringComparison.Ordinal);

        await Verify.VerifyAsync(source, fixedSource);

        var flagged = Assert.Throws<TargetInvocationException>(() => RunTrain(flaggedSource, batches: 5));
        Assert.Contains("backward through the graph a second time", flagged.InnerException!.Message, StringComparison.Ordinal);

        // Detaching in a statement after the store creates the detached tensor inside the iteration's scope, which frees it.
        var detachedInsideTheScope = flaggedSource.Replace(
            "hidden = next.MoveToOuterDisposeScope();", "hidden = next.MoveToOuterDisposeScope();\n            hidden = hidden.detach();", StringComparison.Ordinal);
        var freed = Assert.Throws<TargetInvocationException>(() => RunTrain(detachedInsideTheScope, batches: 5));
        Assert.IsType<InvalidOperationException>(freed.InnerException);

        var loss = RunTrain(fixedSource, batches: 5);
        Assert.True(float.IsFinite(loss) && loss > 0, $"fixed loop ended with loss {loss}");
    }

    [Fact]
    public async Task Lstm_tensors_moved_out_of_the_iteration_dispose_scope_are_each_detached_before_the_move_and_train_on_real_TorchSharp()
    {
        const string source = """
            #nullable enable
            using System.Linq;
            using TorchSharp;
            using static TorchSharp.torch;

            public static class CharTrainer
            {
                public static float Train(int batches)
                {
                    manual_seed(7);
                    var lstm = nn.LSTM(3, 16);
                    var head = nn.Linear(16, 1);
                    var optimizer = optim.Adam(lstm.parameters().Concat(head.parameters()), 1e-2);
                    var series = randn(10 * batches, 4, 3);
                    var targets = randn(10 * batches, 4, 1);
                    var h = zeros(1, 4, 16);
                    var c = zeros(1, 4, 16);
                    var loss = float.NaN;
                    for (var b = 0; b < batches; b++)
                    {
                        using var scope = NewDisposeScope();
                        optimizer.zero_grad();
                        var (output, h1, c1) = lstm.call(series.narrow(0, 10 * b, 10), (h, c));
                        {|GD0002:(h, c) = (h1.MoveToOuterDisposeScope(), c1.MoveToOuterDisposeScope())|};
                        var batchLoss = nn.functional.mse_loss(head.call(output), targets.narrow(0, 10 * b, 10));
                        batchLoss.backward();
                        optimizer.step();
                        loss = batchLoss.item<float>();
                    }

                    return loss;
                }
            }
            """;
        var flaggedSource = Regex.Replace(source, @"\{\|GD0002:(.*?)\|\}", "$1");
        var fixedSource = flaggedSource.Replace(
            "(h, c) = (h1.MoveToOuterDisposeScope(), c1.MoveToOuterDisposeScope());",
            "(h, c) = (h1.detach().MoveToOuterDisposeScope(), c1.detach().MoveToOuterDisposeScope());",
            StringComparison.Ordinal);

        await Verify.VerifyAsync(source, fixedSource);

        var flagged = Assert.Throws<TargetInvocationException>(() => RunTrain(flaggedSource, batches: 5));
        Assert.Contains("backward through the graph a second time", flagged.InnerException!.Message, StringComparison.Ordinal);
        var loss = RunTrain(fixedSource, batches: 5);
        Assert.True(float.IsFinite(loss) && loss > 0, $"fixed loop ended with loss {loss}");
    }

    [Fact]
    public async Task A_tuple_state_field_stored_from_scope_detaches_is_detached_inside_the_tuple()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class StreamingModel
            {
                private readonly LSTM lstm = nn.LSTM(3, 16);
                private readonly Linear head = nn.Linear(16, 1);
                private readonly optim.Optimizer optimizer;
                private (Tensor, Tensor)? state;

                public StreamingModel()
                {
                    optimizer = optim.Adam(lstm.parameters(), 1e-3);
                }

                public float Step(Tensor window, Tensor target)
                {
                    using var scope = NewDisposeScope();
                    var (output, h, c) = lstm.call(window, state);
                    {|GD0002:state = (h?.DetachFromDisposeScope(), c.DetachFromDisposeScope())|};
                    var loss = nn.functional.mse_loss(head.call(output), target);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    return loss.item<float>();
                }
            }
            """;
        var fixedSource = Regex.Replace(source, @"\{\|GD0002:(.*?)\|\}", "$1")
            .Replace("state = (h?.DetachFromDisposeScope(), c.DetachFromDisposeScope());", "state = (h?.detach().DetachFromDisposeScope(), c.detach().DetachFromDisposeScope());", StringComparison.Ordinal);

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task A_state_moved_out_before_it_is_stored_is_detached_at_the_carry_and_moved_out_and_trains_on_real_TorchSharp()
    {
        const string source = """
            #nullable enable
            using System.Linq;
            using TorchSharp;
            using static TorchSharp.torch;

            public static class CharTrainer
            {
                public static float Train(int batches)
                {
                    manual_seed(7);
                    var embed = nn.Embedding(30, 8);
                    var gru = nn.GRU(8, 16);
                    var head = nn.Linear(16, 30);
                    var optimizer = optim.Adam(gru.parameters().Concat(head.parameters()).Concat(embed.parameters()), 1e-2);
                    var text = randint(0, 30, new long[] { 20 * batches + 1, 4 });
                    Tensor? hidden = null;
                    var loss = float.NaN;
                    for (var b = 0; b < batches; b++)
                    {
                        using var scope = NewDisposeScope();
                        optimizer.zero_grad();
                        var (output, next) = gru.call(embed.call(text.narrow(0, 20 * b, 20)), hidden);
                        next.MoveToOuterDisposeScope();
                        {|GD0002:hidden = next|};
                        var batchLoss = nn.functional.cross_entropy(head.call(output).view(-1, 30), text.narrow(0, 20 * b + 1, 20).reshape(-1));
                        batchLoss.backward();
                        optimizer.step();
                        loss = batchLoss.item<float>();
                    }

                    return loss;
                }
            }
            """;
        var fixedSource = Regex.Replace(source, @"\{\|GD0002:(.*?)\|\}", "$1")
            .Replace("hidden = next;", "hidden = next.detach().MoveToOuterDisposeScope();", StringComparison.Ordinal);

        await Verify.VerifyAsync(source, fixedSource);

        var loss = RunTrain(fixedSource, batches: 5);
        Assert.True(float.IsFinite(loss) && loss > 0, $"fixed loop ended with loss {loss}");
    }

    [Fact]
    public async Task A_field_state_detached_at_the_carry_inside_the_method_dispose_scope_is_detached_from_every_scope()
    {
        const string source = """
            #nullable enable
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            public sealed class StreamingForecaster
            {
                private readonly GRU gru = nn.GRU(3, 16);
                private readonly Linear head = nn.Linear(16, 1);
                private readonly optim.Optimizer optimizer;
                private Tensor? hidden;

                public StreamingForecaster()
                {
                    optimizer = optim.Adam(gru.parameters(), 1e-3);
                }

                public float Step(Tensor window, Tensor target)
                {
                    using var scope = NewDisposeScope();
                    var (output, h) = gru.call(window, hidden);
                    h.DetachFromDisposeScope();
                    {|GD0002:hidden = h|};
                    var loss = nn.functional.mse_loss(head.call(output), target);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    return loss.item<float>();
                }
            }
            """;
        var fixedSource = Regex.Replace(source, @"\{\|GD0002:(.*?)\|\}", "$1")
            .Replace("hidden = h;", "hidden = h.detach().DetachFromDisposeScope();", StringComparison.Ordinal);

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task A_dispose_scope_around_the_whole_loop_needs_no_move()
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
                    using (NewDisposeScope())
                    {
                        for (var b = 0; b < batches.Length; b++)
                        {
                            Tensor output;
                            {|GD0002:(output, hidden) = gru.call(batches[b], hidden)|};
                            var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                        }
                    }
                }
            }
            """;
        var fixedSource = Regex.Replace(source, @"\{\|GD0002:(.*?)\|\}", "$1")
            .Replace("(output, hidden) = gru.call(batches[b], hidden);", "(output, hidden) = gru.call(batches[b], hidden);\n                hidden = hidden.detach();", StringComparison.Ordinal);

        await Verify.VerifyAsync(source, fixedSource);
    }

    [Fact]
    public async Task A_nullable_loop_state_read_after_the_store_is_detached_with_a_null_check_at_the_top_outside_the_iteration_scope()
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
                        using var scope = NewDisposeScope();
                        var (output, next) = gru.call(batches[b], hidden);
                        {|GD0002:hidden = next.MoveToOuterDisposeScope()|};
                        var loss = nn.functional.mse_loss(head.call(hidden[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        optimizer.step();
                    }
                }
            }
            """;
        var fixedSource = Regex.Replace(source, @"\{\|GD0002:(.*?)\|\}", "$1")
            .Replace("using var scope = NewDisposeScope();", "hidden = hidden?.detach();\n            using var scope = NewDisposeScope();", StringComparison.Ordinal);

        await Verify.VerifyAsync(source, fixedSource);
    }

    /// <summary>Compiles user code against the real TorchSharp and runs its <c>CharTrainer.Train(batches)</c>.</summary>
    private static float RunTrain(string source, int batches)
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var compilation = CSharpCompilation.Create(
            "Gd0002Run" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            platform.Select(path => MetadataReference.CreateFromFile(path)).Append(MetadataReference.CreateFromFile(typeof(torch).Assembly.Location)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        Assert.True(result.Success, string.Join(Environment.NewLine, result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        var train = Assembly.Load(image.ToArray()).GetType("CharTrainer")!.GetMethod("Train")!;
        using var scope = torch.NewDisposeScope();
        return (float)train.Invoke(null, [batches])!;
    }
}
