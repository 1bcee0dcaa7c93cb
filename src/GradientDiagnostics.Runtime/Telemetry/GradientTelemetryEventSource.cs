using System.Diagnostics.Tracing;

namespace GradientDiagnostics.Telemetry;

/// <summary>
/// Where telemetry trouble goes instead of an exception into the training loop, the way OpenTelemetry .NET reports
/// its own (listen with <c>dotnet-trace</c>, <c>dotnet-counters</c> or an <see cref="EventListener"/>).
/// </summary>
[EventSource(Name = SourceName)]
internal sealed class GradientTelemetryEventSource : EventSource
{
    public const string SourceName = "GradientDiagnostics-Telemetry";

    public static readonly GradientTelemetryEventSource Log = new();

    private GradientTelemetryEventSource()
    {
    }

    [NonEvent]
    public void EmitFailed(string part, string? model, Exception exception)
    {
        if (!IsEnabled(EventLevel.Warning, EventKeywords.All))
        {
            return;
        }

        try
        {
            EmitFailed(part, model ?? string.Empty, exception.ToString());
        }
        catch (Exception)
        {
            // The diagnostics channel of last resort has nowhere left to report to; training must go on.
        }
    }

    [Event(1, Level = EventLevel.Warning, Message = "Emitting gradient telemetry ({0}) for model '{1}' failed; training continues. {2}")]
    public void EmitFailed(string part, string model, string exception) => WriteEvent(1, part, model, exception);
}
