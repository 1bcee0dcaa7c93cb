using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace GradientDiagnostics.Runtime.Tests.Telemetry;

[Collection(TelemetryCollection.Name)]
public class AddGradientDiagnosticsTests
{
    [Fact]
    public void Meter_provider_builder_null_is_rejected_naming_the_builder()
    {
        MeterProviderBuilder builder = null!;
        var exception = Assert.Throws<ArgumentNullException>(() => builder.AddGradientDiagnostics());
        Assert.Equal("builder", exception.ParamName);
    }

    [Fact]
    public void Tracer_provider_builder_null_is_rejected_naming_the_builder()
    {
        TracerProviderBuilder builder = null!;
        var exception = Assert.Throws<ArgumentNullException>(() => builder.AddGradientDiagnostics());
        Assert.Equal("builder", exception.ParamName);
    }

    [Fact]
    public void Both_return_the_builder_they_were_given_for_chaining()
    {
        var meters = Sdk.CreateMeterProviderBuilder();
        Assert.Same(meters, meters.AddGradientDiagnostics());
        using var meterProvider = meters.Build();

        var tracers = Sdk.CreateTracerProviderBuilder();
        Assert.Same(tracers, tracers.AddGradientDiagnostics());
        using var tracerProvider = tracers.Build();
    }

    [Fact]
    public void Tracer_provider_with_AddGradientDiagnostics_listens_to_the_GradientDiagnostics_source()
    {
        Assert.False(GradientDiagnostics.Telemetry.GradientTelemetry.ActivitySource.HasListeners());
        using (Sdk.CreateTracerProviderBuilder().AddGradientDiagnostics().Build())
        {
            Assert.True(GradientDiagnostics.Telemetry.GradientTelemetry.ActivitySource.HasListeners());
        }

        Assert.False(GradientDiagnostics.Telemetry.GradientTelemetry.ActivitySource.HasListeners());
    }
}
