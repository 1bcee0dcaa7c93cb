using Microsoft.Extensions.Logging;

namespace GradientDiagnostics;

/// <summary>
/// Thresholds and sampling of a <see cref="GradientWatch"/>. Every setter validates its value and throws an
/// <see cref="ArgumentOutOfRangeException"/> naming the option, so a bad configuration fails where it is written.
/// The defaults were calibrated on real runs; docs/runtime.md gives the measurements.
/// </summary>
public sealed class GradientWatchOptions
{
    private readonly double vanishingRatio = TimestepProfile.DefaultVanishingRatio;
    private readonly double explodingRatio = 70;
    private readonly double explodingFactor = 20;
    private readonly int explodingWindow = 100;
    private readonly int warmupSteps = 10;
    private readonly int timestepProfileInterval = 1;
    private readonly string? modelName;
    private readonly string? calibrationPath;

    /// <summary>
    /// A timestep profile is <see cref="GradientAnomalyKind.Vanishing"/> when the gradient reaching the start of the
    /// sequence over the gradient at its end is below this ratio. Each end is the mean of <c>Norms</c> over a tenth of
    /// the timesteps (at least one; for T &lt; 20 exactly <c>Norms[0] / Norms[T-1]</c>). Default <c>1e-3</c>: the
    /// AUTOTRAINER vanishing rule (first-layer gradient three orders of magnitude below the last layer's) read along time
    /// instead of depth. It is also the bar of <see cref="TimestepProfile.MemoryHorizon"/>: a timestep counts as reached
    /// while its norm stays at or above this fraction of the end's. Must be in (0, 1).
    /// </summary>
    public double VanishingRatio
    {
        get => vanishingRatio;
        init => vanishingRatio = InOpenInterval(value, 0, 1, nameof(VanishingRatio));
    }

    /// <summary>
    /// A timestep profile is <see cref="GradientAnomalyKind.Exploding"/> (over time) when the same start-over-end ratio
    /// (see <see cref="VanishingRatio"/>) exceeds this value. Default <c>70</c>: healthy LSTMs stay within a small factor
    /// of 1, while a recurrence whose Jacobian has spectral radius above 1 grows geometrically (1.3ⁿ passes 70 after 17
    /// steps). Must be finite and &gt; 1.
    /// </summary>
    public double ExplodingRatio
    {
        get => explodingRatio;
        init => explodingRatio = FiniteAbove(value, 1, nameof(ExplodingRatio));
    }

    /// <summary>
    /// A step is <see cref="GradientAnomalyKind.Exploding"/> (across steps) when its global norm exceeds this factor
    /// times the mean global norm of the previous <see cref="ExplodingWindow"/> steps. Default <c>20</c>. Pascanu et al.
    /// (2013) clip at 0.5–10× the average norm, and healthy clipped LSTM training here produced isolated steps of up to
    /// 12.4× (which clipping absorbs), while the onset of real explosions measured 92× to 15,900×; 20 sits between.
    /// Must be finite and &gt; 1.
    /// </summary>
    public double ExplodingFactor
    {
        get => explodingFactor;
        init => explodingFactor = FiniteAbove(value, 1, nameof(ExplodingFactor));
    }

    /// <summary>How many previous steps' global norms form the running mean of the across-steps test. Default 100. At least 1.</summary>
    public int ExplodingWindow
    {
        get => explodingWindow;
        init => explodingWindow = AtLeast(value, 1, nameof(ExplodingWindow));
    }

    /// <summary>
    /// Steps recorded before the across-steps test applies: the first steps of a run have no meaningful average.
    /// Default 10. At least 1.
    /// </summary>
    public int WarmupSteps
    {
        get => warmupSteps;
        init => warmupSteps = AtLeast(value, 1, nameof(WarmupSteps));
    }

    /// <summary>
    /// Timestep profiles are captured on the first recorded step and every N-th one after it (counted in
    /// <see cref="GradientWatch.Record"/> calls); on other steps the hooks return at once, adding no autograd work.
    /// Parameter norms and the global norm are measured every step. Default 1. At least 1.
    /// </summary>
    public int TimestepProfileInterval
    {
        get => timestepProfileInterval;
        init => timestepProfileInterval = AtLeast(value, 1, nameof(TimestepProfileInterval));
    }

    /// <summary>
    /// Name the telemetry reports the model under (e.g. a service or experiment name). Default: the model's type name.
    /// Must not be empty or whitespace.
    /// </summary>
    public string? ModelName
    {
        get => modelName;
        init
        {
            if (value is not null && string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentOutOfRangeException(nameof(ModelName), value, "ModelName must not be empty or whitespace; leave it null to use the model's type name.");
            }

            modelName = value;
        }
    }

    /// <summary>
    /// When set, <see cref="GradientWatch.Dispose"/> writes the calibration file there (see
    /// <see cref="GradientWatch.WriteCalibration"/>; by convention <c>gradient-calibration.json</c> in the project folder).
    /// A problem at that point (a malformed existing file, which is left unchanged; a folder that cannot be written) is
    /// logged through <see cref="LoggerFactory"/>, never thrown into the training process. Must not be empty or whitespace.
    /// </summary>
    public string? CalibrationPath
    {
        get => calibrationPath;
        init
        {
            if (value is not null && (string.IsNullOrWhiteSpace(value) || value.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
            {
                throw new ArgumentOutOfRangeException(nameof(CalibrationPath), value, "CalibrationPath must be a file path (not empty, no invalid characters); leave it null to write no calibration file.");
            }

            calibrationPath = value;
        }
    }

    /// <summary>Where the watch and its telemetry log (anomalies, skipped captures). Null: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// When true (default), <see cref="GradientWatch.Attach"/> rejects a model that contains no RNN/LSTM/GRU module
    /// and no RNNCell/LSTMCell/GRUCell, because nothing would be profiled. Set false for a recurrence written by hand
    /// from other layers whose states you register with <see cref="GradientWatch.TrackState"/>.
    /// </summary>
    public bool RequireRecurrentModule { get; init; } = true;

    private static double InOpenInterval(double value, double low, double high, string name) =>
        value > low && value < high
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be greater than {low} and less than {high}.");

    private static double FiniteAbove(double value, double low, string name) =>
        double.IsFinite(value) && value > low
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number greater than {low}.");

    private static int AtLeast(int value, int minimum, string name) =>
        value >= minimum
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least {minimum}.");
}
