using Microsoft.Extensions.Logging;

namespace GradientDiagnostics.Calibration;

/// <summary>Log records of the calibration file (EventIds 20+; docs/calibration.md).</summary>
internal static partial class CalibrationLog
{
    [LoggerMessage(
        EventId = 20,
        EventName = "CalibrationWritten",
        Level = LogLevel.Information,
        Message = "Wrote the calibration of model '{Model}' to {Path}: {Steps} steps, recommended clip norm {RecommendedClipNorm}; {NonFiniteSteps} steps with a non-finite global norm left out.")]
    public static partial void Written(ILogger logger, string model, string path, long steps, double recommendedClipNorm, long nonFiniteSteps);

    [LoggerMessage(
        EventId = 21,
        EventName = "CalibrationNotWritten",
        Level = LogLevel.Warning,
        Message = "Could not write the calibration of model '{Model}' to {Path}; training is unaffected.")]
    public static partial void NotWritten(ILogger logger, Exception exception, string model, string path);
}
