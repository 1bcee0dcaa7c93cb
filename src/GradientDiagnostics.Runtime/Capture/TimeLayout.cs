using static TorchSharp.torch;

namespace GradientDiagnostics.Capture;

/// <summary>
/// Which dimension of a recurrent module's input is time, read from one call's tensors. TorchSharp 0.107.0 keeps
/// <c>batch_first</c> in a private field of RNN/LSTM/GRU and offers no public way to read it, so the layout is taken
/// from what the call itself shows, which stays true whatever TorchSharp names its fields.
/// </summary>
internal static class TimeLayout
{
    /// <summary>The layout could not be told from this call.</summary>
    public const int Unknown = -1;

    /// <summary>
    /// One timestep of one sequence, (1, 1, F): both layouts read it as the same single timestep, so it needs no layout,
    /// and it shows nothing about the layout of the module's other calls (an autoregressive decoder with batch 1).
    /// </summary>
    public static bool IsSingleStep(Tensor input) => input.dim() == 3 && input.shape[0] == 1 && input.shape[1] == 1;

    /// <summary>
    /// 0 when the input is (T, N, F), 1 when it is (N, T, F), <see cref="Unknown"/> when the call cannot tell.
    /// </summary>
    /// <remarks>
    /// <c>h_n</c> is (layers × directions, N, H), so whichever of the input's first two sizes differs from N is time.
    /// When T = N the sizes cannot tell, but the values can: the last layer's forward-direction <c>h_n</c> is exactly
    /// the output at the last timestep (bitwise; LibTorch copies the same values), so the one layout whose last output
    /// equals it is the true one. That costs one comparison, once per module (the result is cached).
    /// </remarks>
    public static int TimeDimension(Tensor input, Tensor output, Tensor finalHidden)
    {
        if (input.dim() != 3 || output.dim() != 3 || finalHidden.dim() != 3)
        {
            return Unknown;
        }

        var batch = finalHidden.shape[1];
        var (first, second) = (input.shape[0], input.shape[1]);
        if (first != second)
        {
            return first == batch ? 1 : second == batch ? 0 : Unknown;
        }

        using var scope = NewDisposeScope();
        var hidden = finalHidden.shape[2];
        var directions = output.shape[2] / hidden;
        if (directions < 1)
        {
            return Unknown;
        }

        var lastForward = finalHidden[finalHidden.shape[0] - directions];
        var timeFirst = output[first - 1].narrow(1, 0, hidden).Equals(lastForward);
        var batchFirst = output.select(1, second - 1).narrow(1, 0, hidden).Equals(lastForward);
        return timeFirst == batchFirst ? Unknown : timeFirst ? 0 : 1;
    }
}
