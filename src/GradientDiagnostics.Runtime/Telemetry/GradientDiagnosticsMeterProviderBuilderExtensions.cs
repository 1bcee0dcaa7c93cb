using GradientDiagnostics.Telemetry;

namespace OpenTelemetry.Metrics;

/// <summary>Registers the gradient watch's metrics with an OpenTelemetry <see cref="MeterProviderBuilder"/>.</summary>
/// <remarks>
/// Named after the product rather than <c>MeterProviderBuilderExtensions</c>: the SDK and several instrumentation
/// packages already declare that type in this namespace, and a second one makes a qualified call ambiguous.
/// </remarks>
public static class GradientDiagnosticsMeterProviderBuilderExtensions
{
    /// <summary>
    /// Subscribes to the <c>GradientDiagnostics</c> meter: <c>gradient.norm</c>, <c>gradient.global_norm</c>,
    /// <c>gradient.timestep.norm</c>, <c>gradient.memory_horizon</c>, <c>gradient.anomaly</c>,
    /// <c>gradient.unprofiled</c> and <c>gradient.step</c>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static MeterProviderBuilder AddGradientDiagnostics(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(GradientTelemetry.Name);
    }
}
