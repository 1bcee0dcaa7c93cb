using GradientDiagnostics.Telemetry;

namespace OpenTelemetry.Trace;

/// <summary>Registers the gradient watch's spans with an OpenTelemetry <see cref="TracerProviderBuilder"/>.</summary>
/// <remarks>
/// Named after the product rather than <c>TracerProviderBuilderExtensions</c>: the SDK already declares that type in
/// this namespace, and a second one makes a qualified call ambiguous.
/// </remarks>
public static class GradientDiagnosticsTracerProviderBuilderExtensions
{
    /// <summary>Subscribes to the <c>GradientDiagnostics</c> activity source: one <c>gradient.record</c> span per recorded step.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static TracerProviderBuilder AddGradientDiagnostics(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(GradientTelemetry.Name);
    }
}
