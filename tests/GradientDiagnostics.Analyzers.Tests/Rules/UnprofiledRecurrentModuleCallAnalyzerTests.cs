using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.UnprofiledRecurrentModuleCallAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

public class UnprofiledRecurrentModuleCallAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using GradientDiagnostics;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn.utils.rnn;

        """;

    // ---- forward(): positive ----

    [Fact]
    public async Task Reports_an_LSTM_invoked_with_forward_inside_the_models_forward_with_the_reason_and_the_remedy()
    {
        await VerifyAsync(
            """
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm = nn.LSTM(4, 8, batchFirst: true);
                private readonly Linear head = nn.Linear(8, 3);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var (output, _, _) = {|#0:lstm.forward(x)|};
                    return head.call(output);
                }
            }
            """ + TrainingModels.WatchedTaggerTraining,
            Diagnostic(0, "lstm", "invoked with forward(...)", "invoke it with call(...)"));
    }

    [Fact]
    public async Task Reports_every_shape_of_a_forward_invocation_on_RNN_LSTM_and_GRU()
    {
        await VerifyAsync("""
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly RNN rnn = nn.RNN(4, 8);
                private readonly GRU? gru = nn.GRU(8, 8);
                private LSTM Lstm { get; } = nn.LSTM(8, 8);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var (a, h) = {|GD0010:this.rnn.forward(input: x, h0: null)|};
                    var b = {|GD0010:gru!.forward(a, h)|}.Item1;
                    var maybe = gru?{|GD0010:.forward(b)|};
                    var c = maybe?.Item1 ?? b;
                    var state = (zeros(1, 8, 8), zeros(1, 8, 8));
                    var (d, _, _) = {|GD0010:Lstm.forward(c, state)|};
                    return Last(d) + Both(d);
                }

                private Tensor Last(Tensor x) => {|GD0010:Lstm.forward(x)|}.Item1;

                private Tensor Both(Tensor x) => {|GD0010:Lstm.forward(x, h0_c0: null)|}.Item2;
            }
            """ + TrainingModels.WatchedTaggerTraining);
    }

    [Fact]
    public async Task Reports_forward_under_using_static_nn_and_on_a_bare_module_trained_in_top_level_statements()
    {
        await VerifyAsync("""
            using static TorchSharp.torch.nn;

            var gru = GRU(2, 16, batchFirst: true);
            var optimizer = optim.SGD(gru.parameters(), 0.1);
            using var watch = GradientWatch.Attach(gru);
            for (var step = 1; step <= 3; step++)
            {
                optimizer.zero_grad();
                var (output, _) = {|GD0010:gru.forward(rand(4, 10, 2))|};
                output.sum().backward();
                watch.Record(step);
                optimizer.step();
            }
            """);
    }

    [Fact]
    public async Task Reports_forward_in_a_helper_of_the_models_forward_and_in_a_helper_that_training_code_calls()
    {
        await VerifyAsync("""
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                public readonly LSTM lstm = nn.LSTM(4, 8, batchFirst: true);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(Tensor x) => Encode(x).select(1, -1);

                private Tensor Encode(Tensor x) => {|GD0010:lstm.forward(x)|}.Item1;
            }

            static class Layers
            {
                public static Tensor Run(LSTM lstm, Tensor x) => {|GD0010:lstm.forward(x)|}.Item1;
            }

            static class Training
            {
                public static void Run(Tagger model, Tensor x, Tensor y)
                {
                    var optimizer = optim.Adam(model.parameters());
                    using var watch = GradientWatch.Attach(model);
                    optimizer.zero_grad();
                    nn.functional.mse_loss(Layers.Run(model.lstm, x), y).backward();
                    watch.Record(1);
                    optimizer.step();
                }
            }
            """);
    }

    // ---- forward(): negative ----

    [Fact]
    public async Task Is_silent_in_a_compilation_without_the_runtime()
    {
        await Verify.VerifyAsync(Usings.Replace("using GradientDiagnostics;\n", string.Empty) + """
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm = nn.LSTM(4, 8, batchFirst: true);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(Tensor x) => lstm.forward(x).Item1;
            }
            """);
    }

    [Fact]
    public async Task Is_silent_for_call_for_cells_and_for_user_classes_named_LSTM_and_RNN()
    {
        await VerifyAsync("""
            sealed class LSTM : nn.Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.LSTM inner = nn.LSTM(4, 8);

                public LSTM() : base("LSTM") => RegisterComponents();

                public override Tensor forward(Tensor x) => inner.call(x).Item1;
            }

            sealed class RNN
            {
                public Tensor forward(Tensor x) => x.tanh();
            }

            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm = new();
                private readonly RNN rnn = new();
                private readonly LSTMCell cell = nn.LSTMCell(8, 8);
                private readonly TorchSharp.Modules.GRU gru = nn.GRU(8, 8);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var y = rnn.forward(lstm.forward(x));
                    var (h, c) = cell.forward(y[0], null);
                    var (z, _) = gru.call(y, h.unsqueeze(0));
                    return z + c;
                }
            }
            """ + TrainingModels.WatchedTaggerTraining);
    }

    [Fact]
    public async Task Is_silent_under_no_grad_in_a_constructor_in_sampling_methods_in_helpers_training_code_calls_under_no_grad_and_in_code_that_never_trains()
    {
        await VerifyAsync("""
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly GRU gru = nn.GRU(4, 8, batchFirst: true);
                private readonly long outputSize;

                public Tagger() : base(nameof(Tagger))
                {
                    // Shape probe: runs once, never while training.
                    outputSize = gru.forward(zeros(1, 1, 4)).Item1.shape[^1];
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    using (no_grad())
                    {
                        var (warm, _) = gru.forward(x);
                    }

                    return gru.call(x).Item1;
                }

                public Tensor Sample(Tensor x, int steps)
                {
                    var (y, h) = gru.forward(x);
                    for (var t = 0; t < steps; t++)
                    {
                        (y, h) = gru.forward(y, h);
                    }

                    return y;
                }
            }

            static class Inference
            {
                public static Tensor Predict(GRU gru, Tensor x) => gru.forward(x).Item1;
            }

            static class Training
            {
                public static void Run(Tagger model, GRU encoder, Tensor x, Tensor y)
                {
                    var optimizer = optim.Adam(model.parameters());
                    using var watch = GradientWatch.Attach(model);
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    watch.Record(1);
                    optimizer.step();

                    using (no_grad())
                    {
                        var predicted = Inference.Predict(encoder, x);
                    }

                    using var evaluation = no_grad();
                    var (encoded, _) = encoder.forward(x);
                }
            }
            """);
    }

    [Fact]
    public async Task Is_silent_when_the_static_type_is_not_a_recurrent_layer_and_for_a_method_group()
    {
        await VerifyAsync("""
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly nn.Module<Tensor, Tensor, (Tensor, Tensor)> recurrent = nn.GRU(4, 8);
                private readonly LSTM lstm = nn.LSTM(8, 8);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    Func<Tensor, (Tensor, Tensor)?, (Tensor, Tensor, Tensor)> run = lstm.forward;
                    return run(recurrent.forward(x, null).Item1, null).Item1;
                }
            }
            """ + TrainingModels.WatchedTaggerTraining);
    }

    [Fact]
    public async Task Is_silent_for_a_models_forward_calling_base_and_for_forward_on_a_whole_model_that_holds_an_LSTM()
    {
        await VerifyAsync("""
            class Encoder : nn.Module<Tensor, Tensor>
            {
                protected readonly LSTM lstm = nn.LSTM(4, 8, batchFirst: true);

                public Encoder(string name) : base(name) => RegisterComponents();

                public override Tensor forward(Tensor x) => lstm.call(x).Item1;
            }

            sealed class Tagger : Encoder
            {
                private readonly Linear head = nn.Linear(8, 3);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(Tensor x) => head.forward(base.forward(x));
            }

            static class Training
            {
                public static void Run(Tagger model, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var optimizer = optim.Adam(model.parameters());
                    using var watch = GradientWatch.Attach(model);
                    var step = 0;
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        nn.functional.mse_loss(model.forward(x), y).backward();
                        watch.Record(++step);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    // ---- packed input: positive ----

    [Fact]
    public async Task Reports_a_packed_parameter_in_the_models_forward_when_nothing_tracks_input_and_says_how_to_track_it()
    {
        await VerifyAsync(
            """
            sealed class Tagger : nn.Module<PackedSequence, Tensor>
            {
                private readonly LSTM encoder = nn.LSTM(4, 8);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(PackedSequence input)
                {
                    var (output, hn, _) = encoder.call({|#0:input|});
                    return hn[-1];
                }
            }

            static class Training
            {
                public static void Run(Tagger model, Tensor padded, Tensor lengths, Tensor y)
                {
                    var optimizer = optim.Adam(model.parameters());
                    using var watch = GradientWatch.Attach(model);
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(pack_padded_sequence(padded, lengths, enforce_sorted: false)), y).backward();
                    watch.Record(1);
                    optimizer.step();
                }
            }
            """,
            Diagnostic(0, "encoder", "given a PackedSequence not passed through GradientWatch.TrackInput",
                "no GradientWatch is in scope here: pass the watch in and use watch.TrackInput(input, \"encoder\"), or track the packed sequence where it is built and pass on what TrackInput returns"));
    }

    [Fact]
    public async Task Reports_a_packed_local_built_in_the_training_loop_and_a_stacked_modules_packed_output_naming_the_watch_in_scope()
    {
        await VerifyAsync(
            """
            static class Training
            {
                public static void Run(Tensor padded, Tensor lengths, Tensor y)
                {
                    var lower = nn.GRU(4, 8);
                    var upper = nn.GRU(8, 8);
                    var optimizer = optim.Adam(lower.parameters().Concat(upper.parameters()));
                    using var watch = GradientWatch.Attach(lower);
                    for (var step = 1; step <= 3; step++)
                    {
                        var packed = pack_padded_sequence(padded, lengths, enforce_sorted: false);
                        optimizer.zero_grad();
                        var (low, _) = lower.call({|#0:packed|});
                        var (_, h) = upper.call({|#1:low|});
                        nn.functional.mse_loss(h[-1], y).backward();
                        watch.Record(step);
                        optimizer.step();
                    }
                }
            }
            """,
            Diagnostic(0, "lower", "given a PackedSequence not passed through GradientWatch.TrackInput", "pass watch.TrackInput(packed, \"lower\") instead"),
            Diagnostic(1, "upper", "given a PackedSequence not passed through GradientWatch.TrackInput", "pass watch.TrackInput(low, \"upper\") instead"));
    }

    [Fact]
    public async Task Names_the_profile_after_a_register_module_name_or_a_ComponentName_and_gives_no_single_watch_when_two_are_in_scope()
    {
        await VerifyAsync(
            """
            sealed class Encoder : nn.Module<Tensor, PackedSequence>
            {
                private readonly LSTM lstm = nn.LSTM(4, 8);

                public Encoder() : base(nameof(Encoder)) => register_module("encoder", lstm);

                public override PackedSequence forward(Tensor lengths) => lstm.call({|#0:pack_sequence(new[] { rand(3, 4), rand(2, 4) })|}).Item1;
            }

            sealed class Decoder : nn.Module<PackedSequence, Tensor>
            {
                [TorchSharp.Utils.ComponentName(Name = "decoder")]
                private readonly GRU gru = nn.GRU(8, 8);
                private readonly Encoder encoder = new();
                private readonly GradientWatch first;
                private readonly GradientWatch second;

                public Decoder(GradientWatch first, GradientWatch second) : base(nameof(Decoder))
                {
                    this.first = first;
                    this.second = second;
                    RegisterComponents();
                }

                public override Tensor forward(PackedSequence ignored)
                {
                    var output = encoder.call(ones(2));
                    var (_, h) = gru.call({|#1:output|});
                    return h;
                }
            }
            """,
            Diagnostic(0, "lstm", "given a PackedSequence not passed through GradientWatch.TrackInput", "no GradientWatch is in scope here: pass the watch in and use watch.TrackInput(packed, \"encoder\"), or track the packed sequence where it is built and pass on what TrackInput returns"),
            Diagnostic(1, "gru", "given a PackedSequence not passed through GradientWatch.TrackInput", "use watch.TrackInput(output, \"decoder\") with the watch attached to this model"));
    }

    // ---- packed input: negative ----

    [Fact]
    public async Task Is_silent_for_packed_input_from_TrackInput_directly_through_a_local_a_field_or_a_conditional()
    {
        await VerifyAsync("""
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm = nn.LSTM(4, 8);
                private readonly GRU gru = nn.GRU(4, 8);
                private readonly GradientWatch? watch;
                private PackedSequence? batch;

                public Tagger(GradientWatch? watch) : base(nameof(Tagger))
                {
                    this.watch = watch;
                    RegisterComponents();
                }

                public void Load(PackedSequence packed) => batch = watch is null ? packed : watch.TrackInput(packed, "gru");

                public override Tensor forward(Tensor padded)
                {
                    var packed = pack_padded_sequence(padded, tensor(new long[] { 3, 2 }), batch_first: true);
                    var direct = lstm.call(watch!.TrackInput(packed, "lstm")).Item2;
                    var tracked = watch.TrackInput(packed, "lstm");
                    var again = tracked;
                    var viaLocal = lstm.call(again).Item2;
                    var (_, viaField) = gru.call(batch!);
                    return direct + viaLocal + viaField;
                }
            }
            """ + TrainingModels.WatchedTaggerTraining);
    }

    [Fact]
    public async Task Is_silent_for_a_packed_parameter_when_the_compilation_tracks_input_where_the_batch_is_built()
    {
        await VerifyAsync("""
            sealed class Tagger : nn.Module<PackedSequence, Tensor>
            {
                private readonly LSTM encoder = nn.LSTM(4, 8);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(PackedSequence input) => encoder.call(input).Item2[-1];
            }

            static class Training
            {
                public static void Run(Tagger model, Tensor padded, Tensor lengths, Tensor y)
                {
                    var optimizer = optim.Adam(model.parameters());
                    using var watch = GradientWatch.Attach(model);
                    optimizer.zero_grad();
                    var packed = watch.TrackInput(pack_padded_sequence(padded, lengths, enforce_sorted: false), "encoder");
                    nn.functional.mse_loss(model.call(packed), y).backward();
                    watch.Record(1);
                    optimizer.step();
                }
            }
            """);
    }

    [Fact]
    public async Task Is_silent_for_a_packed_parameter_when_top_level_statements_track_the_batch_after_other_statements()
    {
        await VerifyAsync("""
            manual_seed(7);
            using var model = new Tagger();
            var optimizer = optim.SGD(model.parameters(), 0.05);
            using var watch = GradientWatch.Attach(model);
            var lengths = tensor(new long[] { 12, 9, 5, 3 });
            for (var step = 1; step <= 5; step++)
            {
                using var scope = NewDisposeScope();
                var packed = pack_padded_sequence(randn(4, 12, 8), lengths, batch_first: true);
                optimizer.zero_grad();
                model.call(watch.TrackInput(packed, "tokens")).pow(2).mean().backward();
                watch.Record(step);
                optimizer.step();
            }

            class Tagger : nn.Module<PackedSequence, Tensor>
            {
                private readonly GRU gru = nn.GRU(8, 24, batchFirst: true);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(PackedSequence input)
                {
                    var (output, _) = gru.call(input);
                    return pad_packed_sequence(output, batch_first: true).Item1;
                }
            }
            """);
    }

    [Fact]
    public async Task Is_silent_for_packed_input_under_no_grad_and_in_evaluation_code()
    {
        await VerifyAsync("""
            static class Evaluation
            {
                public static Tensor Encode(LSTM lstm, Tensor padded, Tensor lengths)
                {
                    var packed = pack_padded_sequence(padded, lengths, enforce_sorted: false);
                    return lstm.call(packed).Item2;
                }

                public static void Train(LSTM lstm, Tensor padded, Tensor lengths)
                {
                    var optimizer = optim.Adam(lstm.parameters());
                    using var watch = GradientWatch.Attach(lstm);
                    lstm.call(padded).Item2.sum().backward();
                    watch.Record(1);
                    optimizer.step();
                    using (no_grad())
                    {
                        var validation = lstm.call(pack_padded_sequence(padded, lengths, enforce_sorted: false));
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Is_silent_for_validation_after_eval_that_the_training_loop_runs_and_reports_a_validation_that_trains()
    {
        // Validation written without no_grad(): the loop calls it every 100 steps, the helper (or the loop) puts the module in
        // eval mode first, nothing runs backward() on its result. Fine-tuning in eval mode (frozen dropout) still trains.
        await VerifyAsync("""
            static class Program
            {
                public static void Main()
                {
                    var encoder = nn.LSTM(2, 32, batchFirst: true);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(encoder.parameters().Concat(head.parameters()), 1e-3);
                    using var watch = GradientWatch.Attach(encoder);
                    for (var step = 1; step <= 300; step++)
                    {
                        optimizer.zero_grad();
                        var (output, _, _) = encoder.call(rand(64, 50, 2));
                        head.call(output.select(1, -1)).pow(2).mean().backward();
                        watch.Record(step);
                        optimizer.step();
                        if (step % 100 == 0)
                        {
                            Console.WriteLine(Validate(encoder, head));
                            encoder.eval();
                            Console.WriteLine(Score(encoder));
                            encoder.train();
                        }
                    }

                    FineTuneFrozenDropout(encoder, head);
                }

                private static float Validate(LSTM encoder, Linear head)
                {
                    encoder.eval();
                    var (output, _, _) = encoder.forward(rand(256, 50, 2));
                    var loss = head.forward(output.select(1, -1)).pow(2).mean().item<float>();
                    encoder.train();
                    return loss;
                }

                private static float Score(LSTM encoder) => encoder.forward(rand(8, 50, 2)).Item1.mean().item<float>();

                private static void FineTuneFrozenDropout(LSTM encoder, Linear head)
                {
                    var optimizer = optim.SGD(head.parameters(), 1e-2);
                    encoder.train(false);
                    var (output, _, _) = {|#0:encoder.forward(rand(64, 50, 2))|};
                    head.call(output.select(1, -1)).pow(2).mean().backward();
                    optimizer.step();
                }
            }
            """,
            Diagnostic(0, "encoder", "invoked with forward(...)", "invoke it with call(...)"));
    }

    private static DiagnosticResult Diagnostic(int location, string module, string how, string remedy) =>
        new DiagnosticResult(DiagnosticDescriptors.UnprofiledRecurrentModuleCall)
            .WithLocation(location)
            .WithArguments(module, how, remedy)
            .WithOptions(DiagnosticOptions.IgnoreAdditionalLocations);

    private static async Task VerifyAsync(string source, params DiagnosticResult[] expected)
    {
        var test = new Verify.Test { TestCode = Usings + source };
        test.TestState.OutputKind = source.Contains("static class", StringComparison.Ordinal) || source.Contains("sealed class", StringComparison.Ordinal)
            ? OutputKind.DynamicallyLinkedLibrary
            : OutputKind.ConsoleApplication;

        TorchSharpReferences.AddRuntimeTo(test.TestState);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }
}
