using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.utils.rnn;

namespace GradientDiagnostics.Runtime.Tests;

/// <summary>
/// <c>TrackInput</c> profiles packed, variable-length input exactly (against autograd on the padded input it was packed
/// from) and changes nothing the model computes.
/// </summary>
public class PackedInputTests
{
    /// <summary>Unequal lengths with a tie, longest first (what <c>enforce_sorted</c> requires) or shuffled.</summary>
    private static long[] Lengths(bool sorted) => sorted ? new long[] { 9, 7, 7, 4, 2 } : new long[] { 4, 9, 2, 7, 7 };

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Packed_LSTM_input_profile_equals_autograd_on_the_padded_input_over_the_active_sequences(bool batchFirst, bool enforceSorted)
    {
        using var scope = NewDisposeScope();
        manual_seed(41);
        using var model = new PackedRegressor(nn.LSTM(3, 6, numLayers: 2));
        model.to(float64);
        var lengths = Lengths(enforceSorted);
        var x = PaddedInput(lengths, batchFirst);

        // Reference: autograd on the padded tensor the packed input is made from.
        var reference = x.clone().requires_grad_(true);
        model.Loss(pack_padded_sequence(reference, tensor(lengths), batchFirst, enforceSorted)).backward();
        var expected = Reference.NormsOverTime(reference.grad!, batchFirst ? 1 : 0);
        model.zero_grad();

        using var watch = GradientWatch.Attach(model);
        var packed = pack_padded_sequence(x, tensor(lengths), batchFirst, enforceSorted);
        model.Loss(watch.TrackInput(packed, "packed-input")).backward();
        var report = watch.Record(1);

        var profile = Assert.Single(report.Timesteps);
        Assert.Equal("packed-input", profile.Module);
        Reference.AssertClose(expected, profile.Norms, relativeTolerance: 1e-12);
        Assert.Empty(report.Unprofiled);

        // Sequences of length 2 end at t = 2: from there only the longer ones carry gradient, the padding none.
        var activeAt8 = reference.grad!.select(batchFirst ? 1 : 0, 8);
        Assert.Equal(1, activeAt8.abs().sum(1).gt(0).sum().item<long>());
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Tracking_a_packed_input_changes_no_parameter_gradient_no_input_gradient_and_no_output(bool batchFirst, bool enforceSorted)
    {
        using var scope = NewDisposeScope();
        var lengths = Lengths(enforceSorted);

        // Raw data (no history) and an input that requires grad (as after an embedding), each with and without the watch.
        foreach (var inputRequiresGrad in new[] { false, true })
        {
            var (plainLoss, plainGrads, plainInputGrad) = Run(watched: false);
            var (watchedLoss, watchedGrads, watchedInputGrad) = Run(watched: true);

            Assert.True(Reference.Identical(plainLoss, watchedLoss));
            Assert.Equal(plainGrads.Keys.Order(), watchedGrads.Keys.Order());
            foreach (var (name, grad) in plainGrads)
            {
                Assert.True(Reference.Identical(grad, watchedGrads[name]), $"{name} differs (input requires grad: {inputRequiresGrad})");
            }

            Assert.Equal(inputRequiresGrad, plainInputGrad is not null);
            if (plainInputGrad is not null)
            {
                Assert.True(Reference.Identical(plainInputGrad, watchedInputGrad!));
            }

            (Tensor Loss, Dictionary<string, Tensor> Grads, Tensor? InputGrad) Run(bool watched)
            {
                manual_seed(42);
                using var model = new PackedRegressor(nn.LSTM(3, 5, bidirectional: true));
                var x = PaddedInput(lengths, batchFirst, dtype: float32).requires_grad_(inputRequiresGrad);
                using var watch = watched ? GradientWatch.Attach(model) : null;
                var packed = pack_padded_sequence(x, tensor(lengths), batchFirst, enforceSorted);
                var loss = model.Loss(watch?.TrackInput(packed, "lstm") ?? packed);
                loss.backward();
                if (watch is not null)
                {
                    Assert.Single(watch.Record(1).Timesteps);
                }

                return (loss.detach().clone(), Reference.GradientsOf(model), x.grad?.clone());
            }
        }
    }

    [Fact]
    public void The_tracked_input_keeps_the_batch_order_so_outputs_and_final_states_come_back_in_the_callers_order()
    {
        using var scope = NewDisposeScope();
        manual_seed(43);
        using var lstm = nn.LSTM(3, 4, batchFirst: true);
        var lengths = Lengths(sorted: false);
        var packed = pack_padded_sequence(PaddedInput(lengths, batchFirst: true, dtype: float32), tensor(lengths), batch_first: true, enforce_sorted: false);
        var initial = (randn(1, 5, 4), randn(1, 5, 4));

        using var watch = GradientWatch.Attach(lstm);
        var tracked = watch.TrackInput(packed, "lstm");

        Assert.NotSame(packed, tracked);
        Assert.True(Reference.Identical(packed.data, tracked.data));
        Assert.True(Reference.Identical(packed.batch_sizes, tracked.batch_sizes));
        Assert.True(Reference.Identical(packed.sorted_indices, tracked.sorted_indices));
        Assert.True(Reference.Identical(packed.unsorted_indices, tracked.unsorted_indices));

        var (plainOutput, plainH, plainC) = lstm.call(packed, initial);
        var (trackedOutput, trackedH, trackedC) = lstm.call(tracked, initial);
        Assert.True(Reference.Identical(pad_packed_sequence(plainOutput, batch_first: true).Item1, pad_packed_sequence(trackedOutput, batch_first: true).Item1));
        Assert.True(Reference.Identical(plainH, trackedH));
        Assert.True(Reference.Identical(plainC, trackedC));
    }

    [Fact]
    public void Module_hooks_do_not_fire_for_the_PackedSequence_overload_so_an_untracked_packed_input_is_reported_unprofiled()
    {
        using var scope = NewDisposeScope();
        manual_seed(44);
        using var model = new PackedRegressor(nn.GRU(3, 4));
        using var watch = GradientWatch.Attach(model);
        var lengths = Lengths(sorted: true);

        model.Loss(pack_padded_sequence(PaddedInput(lengths, batchFirst: false, dtype: float32), tensor(lengths))).backward();
        var report = watch.Record(1);

        Assert.Empty(report.Timesteps);
        Assert.Equal(new[] { "recurrent" }, report.Unprofiled);
        Assert.NotEmpty(report.ParameterNorms);
    }

    [Fact]
    public void Without_a_profile_due_TrackInput_returns_the_input_itself()
    {
        using var scope = NewDisposeScope();
        manual_seed(45);
        using var model = new PackedRegressor(nn.LSTM(3, 4));
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { TimestepProfileInterval = 2 });
        var lengths = Lengths(sorted: true);
        var packed = pack_padded_sequence(PaddedInput(lengths, batchFirst: false, dtype: float32), tensor(lengths));

        using (no_grad())
        {
            Assert.Same(packed, watch.TrackInput(packed, "lstm"));
        }

        model.Loss(watch.TrackInput(packed, "lstm")).backward();
        Assert.Single(watch.Record(1).Timesteps);

        // Step 2 is not profiled (interval 2): the input passes through, and nothing is reported missing.
        model.zero_grad();
        Assert.Same(packed, watch.TrackInput(packed, "lstm"));
        model.Loss(packed).backward();
        var skipped = watch.Record(2);
        Assert.Empty(skipped.Timesteps);
        Assert.Empty(skipped.Unprofiled);
    }

    [Fact]
    public void Tracked_packed_inputs_leave_no_tensor_behind_after_Record()
    {
        manual_seed(46);
        using var model = new PackedRegressor(nn.LSTM(3, 4));
        using var optimizer = optim.SGD(model.parameters(), 0.01);
        using var watch = GradientWatch.Attach(model);
        var lengths = Lengths(sorted: false);
        var live = new List<long>();
        for (var step = 1; step <= 12; step++)
        {
            using (NewDisposeScope())
            {
                optimizer.zero_grad();
                var packed = pack_padded_sequence(PaddedInput(lengths, batchFirst: true, dtype: float32), tensor(lengths), batch_first: true, enforce_sorted: false);
                model.Loss(watch.TrackInput(packed, "lstm")).backward();
                Assert.Single(watch.Record(step).Timesteps);
                optimizer.step();
            }

            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }

        // After the optimizer's state settles, every step ends with the same tensors alive: the watch keeps none.
        Assert.Single(live.Skip(2).Distinct());
    }

    [Fact]
    public void TrackInput_rejects_bad_arguments_by_name_and_a_disposed_watch()
    {
        using var scope = NewDisposeScope();
        using var lstm = nn.LSTM(3, 4);
        var watch = GradientWatch.Attach(lstm);
        var lengths = Lengths(sorted: true);
        var packed = pack_padded_sequence(PaddedInput(lengths, batchFirst: false, dtype: float32), tensor(lengths));
        var disposed = pack_padded_sequence(PaddedInput(lengths, batchFirst: false, dtype: float32), tensor(lengths));
        disposed.Dispose();

        Assert.Equal("input", Assert.Throws<ArgumentNullException>(() => watch.TrackInput(null!, "lstm")).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentNullException>(() => watch.TrackInput(packed, null!)).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => watch.TrackInput(packed, " ")).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => watch.TrackInput(disposed, "lstm")).ParamName);

        watch.Dispose();
        Assert.Throws<ObjectDisposedException>(() => watch.TrackInput(packed, "lstm"));
    }

    /// <summary>(N, T, F) or (T, N, F), zero beyond each sequence's length, as a padded batch is.</summary>
    private static Tensor PaddedInput(long[] lengths, bool batchFirst, ScalarType dtype = ScalarType.Float64)
    {
        var maxLength = lengths.Max();
        var x = randn(lengths.Length, maxLength, 3, dtype: dtype);
        for (var i = 0; i < lengths.Length; i++)
        {
            x[i, TensorIndex.Slice(lengths[i])] = zeros(1, dtype: dtype);
        }

        return batchFirst ? x : x.transpose(0, 1).contiguous();
    }

    /// <summary>A recurrent module over packed sequences; the loss reads both the padded outputs and the final state.</summary>
    private sealed class PackedRegressor : nn.Module
    {
        private readonly nn.Module recurrent;
        private readonly Linear head;

        public PackedRegressor(nn.Module recurrent) : base(nameof(PackedRegressor))
        {
            this.recurrent = recurrent;
            var features = recurrent.named_parameters().Single(p => p.name == "weight_hh_l0").parameter.shape[1]
                * (recurrent.named_parameters().Any(p => p.name.EndsWith("_reverse", StringComparison.Ordinal)) ? 2 : 1);
            head = nn.Linear(features, 1);
            RegisterComponents();
        }

        public Tensor Loss(PackedSequence input)
        {
            var (output, finalHidden) = recurrent switch
            {
                LSTM lstm => Drop(lstm.call(input)),
                GRU gru => gru.call(input),
                RNN rnn => rnn.call(input),
                _ => throw new InvalidOperationException(),
            };
            var (padded, _) = pad_packed_sequence(output, batch_first: true);
            return head.call(padded).pow(2).mean() + finalHidden.pow(3).sum();

            static (PackedSequence, Tensor) Drop((PackedSequence Output, Tensor H, Tensor C) result) => (result.Output, result.H);
        }
    }
}
