using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests;

/// <summary>Nothing silent: a watched module that gets gradients but no profile is listed in <c>Unprofiled</c> and logged once.</summary>
public class CoverageTests
{
    [Fact]
    public void An_LSTM_invoked_with_forward_is_reported_unprofiled_every_step_and_logged_once_with_the_remedy()
    {
        using var scope = NewDisposeScope();
        manual_seed(51);
        using var model = new EncoderDecoder(encoderThroughForward: true, decoderThroughForward: false);
        var logged = new List<string>();
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { LoggerFactory = new ListLoggerFactory(logged) });

        for (var step = 1; step <= 3; step++)
        {
            model.zero_grad();
            model.call(randn(4, 7, 2)).sum().backward();
            var report = watch.Record(step);

            Assert.Equal(new[] { "encoder" }, report.Unprofiled);
            Assert.Equal(new[] { "decoder" }, report.Timesteps.Select(p => p.Module));
        }

        var line = Assert.Single(logged, l => l.Contains("not profiled", StringComparison.Ordinal));
        Assert.Contains("The recurrent module encoder is not profiled", line, StringComparison.Ordinal);
        Assert.Contains("forward(", line, StringComparison.Ordinal);
        Assert.Contains("call(", line, StringComparison.Ordinal);
        Assert.Contains("TrackInput", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bare_LSTM_attached_as_the_model_and_invoked_with_forward_is_reported_by_its_type_name()
    {
        using var scope = NewDisposeScope();
        manual_seed(57);
        using var lstm = nn.LSTM(2, 3);
        using var watch = GradientWatch.Attach(lstm);

        lstm.forward(randn(5, 4, 2)).Item1.sum().backward();

        Assert.Equal(new[] { "LSTM" }, watch.Record(1).Unprofiled);
    }

    [Fact]
    public void A_recurrent_cell_is_reported_unprofiled_until_its_states_are_tracked()
    {
        using var scope = NewDisposeScope();
        manual_seed(58);
        using var model = new UnrolledCell(inputSize: 2, hidden: 3);
        var logged = new List<string>();
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { LoggerFactory = new ListLoggerFactory(logged) });

        model.call(randn(5, 4, 2)).sum().backward();
        var untracked = watch.Record(1);
        model.zero_grad();
        model.OnState = (h, t) => watch.TrackState(h, t, "decoder.h");
        model.call(randn(5, 4, 2)).sum().backward();
        var tracked = watch.Record(2);

        Assert.Equal(new[] { "cell" }, untracked.Unprofiled);
        Assert.Empty(tracked.Unprofiled);
        Assert.Equal(new[] { "decoder.h" }, tracked.Timesteps.Select(p => p.Module));
        var line = Assert.Single(logged, l => l.Contains("not profiled", StringComparison.Ordinal));
        Assert.Contains("The recurrent module cell is not profiled", line, StringComparison.Ordinal);
        Assert.Contains("watch.TrackState(h, t, \"cell\")", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Modules_invoked_with_call_are_never_reported()
    {
        using var scope = NewDisposeScope();
        manual_seed(52);
        using var model = new EncoderDecoder(encoderThroughForward: false, decoderThroughForward: false);
        using var watch = GradientWatch.Attach(model);

        model.call(randn(4, 7, 2)).sum().backward();
        var report = watch.Record(1);

        Assert.Empty(report.Unprofiled);
        Assert.Equal(new[] { "encoder", "decoder" }, report.Timesteps.Select(p => p.Module));
    }

    /// <summary>
    /// A second watch on the same model (a training library's and the user's own, or one per epoch never disposed): the
    /// later pre-hook is handed the earlier one's alias and replaces it, and the module hooks then see only the last.
    /// </summary>
    [Fact]
    public void Two_watches_on_one_model_both_profile_every_call_exactly_and_report_nothing_unprofiled()
    {
        using var scope = NewDisposeScope();
        manual_seed(58);
        using var model = new EncoderDecoder(encoderThroughForward: false, decoderThroughForward: false);
        model.to(float64);
        var x = randn(4, 7, 2, dtype: float64);
        var reference = x.clone().requires_grad_(true);
        model.call(reference).sum().backward();
        var expected = Reference.NormsOverTime(reference.grad!, 1);
        model.zero_grad();

        using var first = GradientWatch.Attach(model);
        using var second = GradientWatch.Attach(model);
        model.call(x).sum().backward();

        foreach (var report in new[] { first.Record(1), second.Record(1) })
        {
            Assert.Empty(report.Unprofiled);
            Assert.Equal(new[] { "encoder", "decoder" }, report.Timesteps.Select(p => p.Module));
            Reference.AssertClose(expected, report.Timesteps[0].Norms);
        }
    }

    [Fact]
    public void A_frozen_module_invoked_with_forward_gets_no_gradient_and_is_not_reported()
    {
        using var scope = NewDisposeScope();
        manual_seed(53);
        using var model = new EncoderDecoder(encoderThroughForward: true, decoderThroughForward: false);
        foreach (var (name, parameter) in model.named_parameters())
        {
            parameter.requires_grad = !name.StartsWith("encoder.", StringComparison.Ordinal);
        }

        using var watch = GradientWatch.Attach(model);
        model.call(randn(4, 7, 2)).sum().backward();

        Assert.Empty(watch.Record(1).Unprofiled);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_module_the_step_did_not_use_is_not_reported_whether_zero_grad_clears_or_zeroes(bool setToNone)
    {
        using var scope = NewDisposeScope();
        manual_seed(54);
        using var model = new EncoderDecoder(encoderThroughForward: true, decoderThroughForward: false);
        using var watch = GradientWatch.Attach(model);
        model.call(randn(4, 7, 2)).sum().backward();
        Assert.Equal(new[] { "encoder" }, watch.Record(1).Unprofiled);

        // Step 2 uses the decoder only: the encoder's gradients are cleared (None) or zeroed, not received.
        model.zero_grad(set_to_none: setToNone);
        model.DecoderOnly(randn(4, 7, 3)).sum().backward();
        var report = watch.Record(2);

        Assert.Empty(report.Unprofiled);
        Assert.Equal(new[] { "decoder" }, report.Timesteps.Select(p => p.Module));
    }

    [Fact]
    public void Steps_whose_profiles_are_not_due_report_nothing_unprofiled()
    {
        using var scope = NewDisposeScope();
        manual_seed(55);
        using var model = new EncoderDecoder(encoderThroughForward: true, decoderThroughForward: true);
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { TimestepProfileInterval = 2 });

        var unprofiled = new List<IReadOnlyList<string>>();
        for (var step = 1; step <= 3; step++)
        {
            model.zero_grad();
            model.call(randn(4, 7, 2)).sum().backward();
            unprofiled.Add(watch.Record(step).Unprofiled);
        }

        Assert.Equal(new[] { "encoder", "decoder" }, unprofiled[0]);
        Assert.Empty(unprofiled[1]);
        Assert.Equal(new[] { "encoder", "decoder" }, unprofiled[2]);
    }

    [Fact]
    public void A_tracked_packed_input_accounts_for_its_module_by_name_or_by_input_size_and_an_untracked_one_does_not()
    {
        using var scope = NewDisposeScope();
        manual_seed(56);
        using var model = new EncoderDecoder(encoderThroughForward: false, decoderThroughForward: false);
        var lengths = tensor(new long[] { 7, 5, 5, 2 });
        using var watch = GradientWatch.Attach(model);

        foreach (var name in new[] { "encoder", "sequences" })
        {
            model.zero_grad();
            var packed = nn.utils.rnn.pack_padded_sequence(randn(4, 7, 2), lengths, batch_first: true);
            model.Packed(watch.TrackInput(packed, name)).sum().backward();
            var report = watch.Record(1);
            Assert.Empty(report.Unprofiled);
            Assert.Equal(new[] { name, "decoder" }, report.Timesteps.Select(p => p.Module));
        }

        model.zero_grad();
        model.Packed(nn.utils.rnn.pack_padded_sequence(randn(4, 7, 2), lengths, batch_first: true)).sum().backward();
        Assert.Equal(new[] { "encoder" }, watch.Record(2).Unprofiled);
    }

    /// <summary>An encoder LSTM (2 → 3 features) feeding a decoder GRU (3 → 4), each invoked through call() or forward().</summary>
    private sealed class EncoderDecoder : nn.Module<Tensor, Tensor>
    {
        private readonly LSTM encoder;
        private readonly GRU decoder;
        private readonly bool encoderThroughForward;
        private readonly bool decoderThroughForward;

        public EncoderDecoder(bool encoderThroughForward, bool decoderThroughForward) : base(nameof(EncoderDecoder))
        {
            this.encoderThroughForward = encoderThroughForward;
            this.decoderThroughForward = decoderThroughForward;
            encoder = nn.LSTM(2, 3, batchFirst: true);
            decoder = nn.GRU(3, 4, batchFirst: true);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var encoded = encoderThroughForward ? encoder.forward(input, null).Item1 : encoder.call(input).Item1;
            return DecoderOnly(encoded);
        }

        public Tensor DecoderOnly(Tensor encoded) =>
            decoderThroughForward ? decoder.forward(encoded, null).Item1 : decoder.call(encoded).Item1;

        public Tensor Packed(nn.utils.rnn.PackedSequence input)
        {
            var (output, _, _) = encoder.call(input);
            return DecoderOnly(nn.utils.rnn.pad_packed_sequence(output, batch_first: true).Item1);
        }
    }
}
