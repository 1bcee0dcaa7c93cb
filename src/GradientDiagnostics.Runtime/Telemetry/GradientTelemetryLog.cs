using Microsoft.Extensions.Logging;

namespace GradientDiagnostics.Telemetry;

/// <summary>The structured log records of the gradient watch (event ids are part of the documented contract).</summary>
internal static partial class GradientTelemetryLog
{
    [LoggerMessage(
        EventId = 1,
        EventName = "GradientAnomaly",
        Level = LogLevel.Warning,
        Message = "Gradient anomaly '{AnomalyKind}' in model '{Model}' at step {Step}: {AnomalyMessage} Remedy: {Remedy}.")]
    public static partial void AnomalyDetected(
        ILogger logger, string anomalyKind, string model, long step, string anomalyMessage, string remedy);

    [LoggerMessage(
        EventId = 2,
        EventName = "GradientStepRecorded",
        Level = LogLevel.Debug,
        Message = "Recorded gradients of model '{Model}' at step {Step}: global norm {GlobalNorm}, {AnomalyCount} anomalies.")]
    public static partial void StepRecorded(ILogger logger, long step, string model, double globalNorm, int anomalyCount);
}
