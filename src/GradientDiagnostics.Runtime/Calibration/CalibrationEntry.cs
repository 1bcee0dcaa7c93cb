namespace GradientDiagnostics.Calibration;

/// <summary>The quantiles of the pre-clip global norm written to the calibration file (<c>globalNorm</c>).</summary>
internal sealed record NormQuantiles(double P10, double P50, double P90, double P99, double Max);

/// <summary>The median memory horizon of a model's timestep profiles and the length of those profiles (<c>memoryHorizon</c>).</summary>
internal sealed record MemoryHorizonMedian(int P50, int SequenceLength);

/// <summary>One model's entry of the calibration file (schema v1, docs/calibration.md).</summary>
/// <param name="Model">The watch's model name: <c>GradientWatchOptions.ModelName</c>, else the model's type name.</param>
/// <param name="Steps">Steps whose finite global norm entered the quantiles.</param>
/// <param name="MemoryHorizon">Null when no timestep profile was recorded.</param>
internal sealed record CalibrationEntry(string Model, long Steps, NormQuantiles GlobalNorm, double RecommendedClipNorm, MemoryHorizonMedian? MemoryHorizon);
