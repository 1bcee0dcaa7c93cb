using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Verify = GradientDiagnostics.Testing.TorchSharpCodeFixVerifier<GradientDiagnostics.Analyzers.UnprofiledRecurrentModuleCallAnalyzer, GradientDiagnostics.CodeFixes.UnprofiledRecurrentModuleCallFixer>;

namespace GradientDiagnostics.CodeFixes.Tests.Rules;

public class UnprofiledRecurrentModuleCallFixerTests
{
    private const string Usings = """
        using System.Collections.Generic;
        using GradientDiagnostics;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn.utils.rnn;

        """;

    [Fact]
    public async Task Renames_every_forward_to_call_keeping_named_arguments_conditional_access_comments_and_layout()
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
                    var maybe = gru?{|GD0010:.forward(a, h)|};
                    var b = maybe?.Item1 ?? a;
                    var (c, _, _) = {|GD0010:Lstm
                        .forward( /* state */ b,
                            (zeros(1, 8, 8), zeros(1, 8, 8)))|};
                    return {|GD0010:Lstm.forward(c, h0_c0: null)|}.Item2;
                }
            }
            """ + TrainingModels.WatchedTaggerTraining, """
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly RNN rnn = nn.RNN(4, 8);
                private readonly GRU? gru = nn.GRU(8, 8);
                private LSTM Lstm { get; } = nn.LSTM(8, 8);

                public Tagger() : base(nameof(Tagger)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var (a, h) = this.rnn.call(input: x, h0: null);
                    var maybe = gru?.call(a, h);
                    var b = maybe?.Item1 ?? a;
                    var (c, _, _) = Lstm
                        .call( /* state */ b,
                            (zeros(1, 8, 8), zeros(1, 8, 8)));
                    return Lstm.call(c, h0_c0: null).Item2;
                }
            }
            """ + TrainingModels.WatchedTaggerTraining);
    }

    [Fact]
    public async Task Wraps_packed_input_in_TrackInput_with_the_one_watch_in_scope_named_after_the_module()
    {
        await VerifyAsync("""
            static class Training
            {
                public static void Run(Tensor padded, Tensor lengths, Tensor y)
                {
                    var lower = nn.GRU(4, 8);
                    var upper = nn.GRU(8, 8);
                    var optimizer = optim.Adam(lower.parameters());
                    using var watch = GradientWatch.Attach(lower);
                    for (var step = 1; step <= 3; step++)
                    {
                        optimizer.zero_grad();
                        var (low, _) = lower.call({|GD0010:pack_padded_sequence(padded, lengths, enforce_sorted: false)|});
                        var (_, h) = upper.call({|GD0010:low|});
                        nn.functional.mse_loss(h[-1], y).backward();
                        watch.Record(step);
                        optimizer.step();
                    }
                }
            }
            """, """
            static class Training
            {
                public static void Run(Tensor padded, Tensor lengths, Tensor y)
                {
                    var lower = nn.GRU(4, 8);
                    var upper = nn.GRU(8, 8);
                    var optimizer = optim.Adam(lower.parameters());
                    using var watch = GradientWatch.Attach(lower);
                    for (var step = 1; step <= 3; step++)
                    {
                        optimizer.zero_grad();
                        var (low, _) = lower.call(watch.TrackInput(pack_padded_sequence(padded, lengths, enforce_sorted: false), "lower"));
                        var (_, h) = upper.call(watch.TrackInput(low, "upper"));
                        nn.functional.mse_loss(h[-1], y).backward();
                        watch.Record(step);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Tracks_with_a_nullable_watch_field_through_a_null_conditional_and_names_the_registered_module()
    {
        await VerifyAsync("""
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm = nn.LSTM(4, 8, batchFirst: true);

                public Tagger() : base(nameof(Tagger)) => register_module("encoder", lstm);

                public GradientWatch? Watch { get; set; }

                public override Tensor forward(Tensor padded)
                {
                    var packed = pack_padded_sequence(padded, tensor(new long[] { 3, 2 }), batch_first: true);
                    var (_, hn, _) = lstm.call({|GD0010:packed|});
                    return hn[-1];
                }
            }
            """ + TrainingModels.WatchedTaggerTraining, """
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm = nn.LSTM(4, 8, batchFirst: true);

                public Tagger() : base(nameof(Tagger)) => register_module("encoder", lstm);

                public GradientWatch? Watch { get; set; }

                public override Tensor forward(Tensor padded)
                {
                    var packed = pack_padded_sequence(padded, tensor(new long[] { 3, 2 }), batch_first: true);
                    var (_, hn, _) = lstm.call(Watch?.TrackInput(packed, "encoder") ?? packed);
                    return hn[-1];
                }
            }
            """ + TrainingModels.WatchedTaggerTraining);
    }

    [Fact]
    public async Task Tracks_with_a_var_watch_in_a_nullable_enabled_project_by_what_its_initializer_may_hold()
    {
        // With <Nullable>enable</Nullable> every `var` local is declared nullable: `using var watch = GradientWatch.Attach(…)`
        // holds a watch and is tracked plainly; a `var` that may hold null keeps the null-conditional form.
        await VerifyAsync("""
            #nullable enable
            static class SpeechTraining
            {
                public static void Run(LSTM encoder, IEnumerable<(Tensor Padded, Tensor Lengths)> batches)
                {
                    var optimizer = optim.Adam(encoder.parameters());
                    using var watch = GradientWatch.Attach(encoder);
                    long step = 0;
                    foreach (var (padded, lengths) in batches)
                    {
                        var packed = pack_padded_sequence(padded, lengths, batch_first: true, enforce_sorted: false);
                        optimizer.zero_grad();
                        encoder.call({|GD0010:packed|}).Item2.sum().backward();
                        watch.Record(++step);
                        optimizer.step();
                    }
                }

                public static void RunOptionallyWatched(LSTM encoder, IEnumerable<(Tensor Padded, Tensor Lengths)> batches, bool watched)
                {
                    var optimizer = optim.Adam(encoder.parameters());
                    var watch = watched ? GradientWatch.Attach(encoder) : null;
                    long step = 0;
                    foreach (var (padded, lengths) in batches)
                    {
                        var packed = pack_padded_sequence(padded, lengths, batch_first: true, enforce_sorted: false);
                        optimizer.zero_grad();
                        encoder.call({|GD0010:packed|}).Item2.sum().backward();
                        watch?.Record(++step);
                        optimizer.step();
                    }
                }
            }
            """, """
            #nullable enable
            static class SpeechTraining
            {
                public static void Run(LSTM encoder, IEnumerable<(Tensor Padded, Tensor Lengths)> batches)
                {
                    var optimizer = optim.Adam(encoder.parameters());
                    using var watch = GradientWatch.Attach(encoder);
                    long step = 0;
                    foreach (var (padded, lengths) in batches)
                    {
                        var packed = pack_padded_sequence(padded, lengths, batch_first: true, enforce_sorted: false);
                        optimizer.zero_grad();
                        encoder.call(watch.TrackInput(packed, "encoder")).Item2.sum().backward();
                        watch.Record(++step);
                        optimizer.step();
                    }
                }

                public static void RunOptionallyWatched(LSTM encoder, IEnumerable<(Tensor Padded, Tensor Lengths)> batches, bool watched)
                {
                    var optimizer = optim.Adam(encoder.parameters());
                    var watch = watched ? GradientWatch.Attach(encoder) : null;
                    long step = 0;
                    foreach (var (padded, lengths) in batches)
                    {
                        var packed = pack_padded_sequence(padded, lengths, batch_first: true, enforce_sorted: false);
                        optimizer.zero_grad();
                        encoder.call(watch?.TrackInput(packed, "encoder") ?? packed).Item2.sum().backward();
                        watch?.Record(++step);
                        optimizer.step();
                    }
                }
            }
            """);
    }

    [Fact]
    public async Task Offers_no_fix_for_packed_input_with_two_watches_in_scope_or_none()
    {
        const string source = """
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly LSTM lstm = nn.LSTM(4, 8, batchFirst: true);
                private readonly GRU gru = nn.GRU(4, 8, batchFirst: true);
                private readonly GradientWatch first;
                private readonly GradientWatch second;

                public Tagger(GradientWatch first, GradientWatch second) : base(nameof(Tagger))
                {
                    this.first = first;
                    this.second = second;
                    RegisterComponents();
                }

                public override Tensor forward(Tensor padded)
                {
                    var packed = pack_padded_sequence(padded, tensor(new long[] { 3, 2 }), batch_first: true);
                    var (_, hn, _) = lstm.call({|GD0010:packed|});
                    return hn[-1] + Encode(gru, padded);
                }

                private static Tensor Encode(GRU gru, Tensor padded) =>
                    gru.call({|GD0010:pack_padded_sequence(padded, tensor(new long[] { 3, 2 }), batch_first: true)|}).Item2;
            }
            """ + TrainingModels.WatchedTaggerTraining;
        await VerifyAsync(source, source);
    }

    private static async Task VerifyAsync(string source, string fixedSource)
    {
        var test = new Verify.Test
        {
            TestCode = Usings + source,
            FixedCode = Usings + fixedSource,
        };
        test.TestState.OutputKind = OutputKind.DynamicallyLinkedLibrary;
        test.FixedState.OutputKind = OutputKind.DynamicallyLinkedLibrary;
        TorchSharpReferences.AddRuntimeTo(test.TestState);
        TorchSharpReferences.AddRuntimeTo(test.FixedState);
        await test.RunAsync();
    }
}
