using GradientDiagnostics.Hooks;
using static TorchSharp.torch;

namespace GradientDiagnostics.Capture;

/// <summary>
/// The input of one recurrent call whose gradient is retained until <c>Record</c>: the alias a hooked module was given,
/// or the padded tensor a tracked packed input was packed from.
/// </summary>
/// <param name="Name">The profile's name: <paramref name="BaseName"/>, suffixed <c>#2</c>, <c>#3</c>… for later calls in the step.</param>
/// <param name="BaseName">The module's name, or the name given to <c>TrackInput</c>.</param>
/// <param name="Input">The tensor whose retained gradient is dL/dx; owned by the watch.</param>
/// <param name="TimeDimension">Which dimension of <paramref name="Input"/> is time.</param>
/// <param name="Module">The hooked module; null for a tracked packed input, whose module the hooks never see.</param>
internal sealed record InputCapture(string Name, string BaseName, Tensor Input, int TimeDimension, WatchedModule? Module)
{
    /// <summary>Features per timestep (the input's last dimension).</summary>
    public long FeatureSize => Input.shape[^1];
}
