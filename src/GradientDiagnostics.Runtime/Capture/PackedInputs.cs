using static TorchSharp.torch;
using static TorchSharp.torch.nn.utils.rnn;

namespace GradientDiagnostics.Capture;

/// <summary>
/// Builds the packed input that <c>GradientWatch.TrackInput</c> hands back: the same sequences, packed the same way,
/// whose data flows from a padded tensor the watch owns, so the gradient reaching each timestep can be read from it.
/// </summary>
/// <remarks>
/// TorchSharp 0.107.0 has no public constructor for <c>PackedSequence</c>; only <c>pack_padded_sequence</c> and
/// <c>pack_sequence</c> make one. So the input is padded (<c>pad_packed_sequence</c>, which keeps its autograd history)
/// and packed again from that tensor with the same lengths. Padding and packing only copy values, so the module sees
/// exactly the same data in exactly the same layout: every parameter gradient is bitwise the same, and the gradient
/// flowing back to the caller's packed data is the same values copied twice. The padded positions of inactive sequences
/// are read by nothing, so their gradient is 0 and <c>Norms[t]</c> covers the sequences still active at t.
/// </remarks>
internal static class PackedInputs
{
    /// <summary>
    /// The repacked input and the padded (T, N, F) tensor it is packed from, whose gradient is retained; null when the
    /// input is not floating point or when repacking would order the batch differently (the sort of the lengths is
    /// LibTorch's, and a PackedSequence made by TorchSharp always carries that order, so this is a safeguard).
    /// </summary>
    public static (PackedSequence Packed, Tensor Padded)? Repack(PackedSequence input)
    {
        if (!input.data.is_floating_point())
        {
            return null;
        }

        var sorted = !input.sorted_indices.IsInvalid;
        var (padded, lengths) = pad_packed_sequence(input, batch_first: false);
        using (lengths)
        {
            if (padded.requires_grad)
            {
                padded.retain_grad();
            }
            else
            {
                padded.requires_grad_(true);
            }

            var packed = pack_padded_sequence(padded, lengths, batch_first: false, enforce_sorted: !sorted);
            if (sorted && !packed.sorted_indices.Equals(input.sorted_indices))
            {
                packed.Dispose();
                padded.Dispose();
                return null;
            }

            padded.DetachFromDisposeScope();
            return (packed, padded);
        }
    }
}
