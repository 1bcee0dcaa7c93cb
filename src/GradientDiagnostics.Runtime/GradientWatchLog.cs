using Microsoft.Extensions.Logging;

namespace GradientDiagnostics;

/// <summary>Source-generated log messages of <see cref="GradientWatch"/> capture problems (EventIds 10+; anomalies are logged by GradientTelemetry).</summary>
internal static partial class GradientWatchLog
{
    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Could not capture the input gradient of {Module}; this call is not profiled.")]
    public static partial void CaptureFailed(ILogger logger, Exception exception, string module);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "The tensor captured for {Profile} was disposed before Record; keep tracked states alive until Record. Skipped.")]
    public static partial void CapturedTensorDisposed(ILogger logger, string profile);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Too many recurrent calls ({CallLimit}) or tracked states ({StateLimit}) without Record; further captures are skipped until Record. Call Record after each backward(), or run evaluation under no_grad.")]
    public static partial void CaptureLimitReached(ILogger logger, int callLimit, int stateLimit);

    [LoggerMessage(EventId = 13, EventName = "ModuleNotProfiled", Level = LogLevel.Warning, Message = "The recurrent module {Module} is not profiled: {Reason}. Remedy: {Remedy}.")]
    public static partial void ModuleNotProfiled(ILogger logger, string module, string reason, string remedy);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "The packed input {Profile} could not be repacked in its original batch order, so it is passed on untracked and not profiled.")]
    public static partial void PackedInputOrderChanged(ILogger logger, string profile);
}
