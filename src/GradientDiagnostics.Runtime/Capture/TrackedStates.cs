using static TorchSharp.torch;

namespace GradientDiagnostics.Capture;

/// <summary>The states a hand-unrolled recurrence registered with <c>TrackState</c> under one name in one step.</summary>
internal sealed class TrackedStates(string baseName, string name)
{
    public string BaseName { get; } = baseName;

    public string Name { get; } = name;

    public Dictionary<int, Tensor> ByTimestep { get; } = new();
}
