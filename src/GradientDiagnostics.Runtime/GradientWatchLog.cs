using Microsoft.Extensions.Logging;

namespace GradientDiagnostics;

/// <summary>Source-generated log messages of <see cref="GradientWatch"/> (no allocation when the level is off).</summary>
internal static partial class GradientWatchLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Step {Step} of {Model}: {Anomaly}")]
    public static partial void Anomaly(ILogger logger, long step, string model, GradientAnomaly anomaly);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Could not capture the input gradient of {Module}; this call is not profiled.")]
    public static partial void CaptureFailed(ILogger logger, Exception exception, string module);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "The tensor captured for {Profile} was disposed before Record; keep tracked states alive until Record. Skipped.")]
    public static partial void CapturedTensorDisposed(ILogger logger, string profile);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Too many recurrent calls ({CallLimit}) or tracked states ({StateLimit}) without Record; further captures are skipped until Record. Call Record after each backward(), or run evaluation under no_grad.")]
    public static partial void CaptureLimitReached(ILogger logger, int callLimit, int stateLimit);
}
