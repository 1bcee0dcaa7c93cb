using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AddingProblem;

/// <summary>Where OTLP goes: an endpoint, its transport, and headers (e.g. the dashboard's API key).</summary>
public sealed record OtlpTarget(Uri Endpoint, OtlpProtocol Protocol, string? Headers = null);

/// <summary>
/// The OpenTelemetry SDK set-up of the demo: GradientDiagnostics' meter and activity source plus the demo's loss
/// gauge, exported by OTLP and/or a Prometheus scrape endpoint. With neither, nothing is set up and the gradient
/// watch's instruments cost nothing.
/// </summary>
public sealed class DemoTelemetry : IDisposable
{
    public const string ServiceName = "AddingProblem";

    private readonly Meter meter;
    private readonly MeterProvider? meterProvider;
    private readonly TracerProvider? tracerProvider;

    private DemoTelemetry(Meter meter, MeterProvider? meterProvider, TracerProvider? tracerProvider, ILoggerFactory? loggerFactory, Uri? scrapeEndpoint)
    {
        this.meter = meter;
        this.meterProvider = meterProvider;
        this.tracerProvider = tracerProvider;
        LoggerFactory = loggerFactory;
        ScrapeEndpoint = scrapeEndpoint;
    }

    /// <summary>Sends the gradient watch's anomaly logs by OTLP; null without OTLP.</summary>
    public ILoggerFactory? LoggerFactory { get; }

    /// <summary>The Prometheus scrape URL, when serving one.</summary>
    public Uri? ScrapeEndpoint { get; }

    public static DemoTelemetry Start(DemoSettings settings, OtlpTarget? otlp, Func<IEnumerable<ModelTraining>> trainings)
    {
        var meter = new Meter(ServiceName);
        meter.CreateObservableGauge(
            "training.loss",
            () => trainings()
                .Where(t => t.LastLoss is not null)
                .Select(t => new Measurement<double>(t.LastLoss!.Value, new KeyValuePair<string, object?>("gradient.model", t.Name))),
            unit: "1",
            description: "Mean squared error of the latest training step.");

        if (otlp is null && settings.PrometheusPort is null)
        {
            return new DemoTelemetry(meter, null, null, null, null);
        }

        // service.instance.id keeps processes apart when many machines export to one backend.
        var resource = ResourceBuilder.CreateDefault()
            .AddService(ServiceName, serviceVersion: typeof(DemoTelemetry).Assembly.GetName().Version?.ToString(), serviceInstanceId: settings.RunId);

        var metrics = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddGradientDiagnostics()
            .AddMeter(ServiceName);
        Uri? scrapeEndpoint = null;
        if (settings.PrometheusPort is { } port)
        {
            metrics.AddPrometheusHttpListener(options =>
            {
                options.Host = settings.PrometheusHost;
                options.Port = port;
                // Every series carries its process's run id, so one Prometheus scraping many trainers keeps them apart
                // without a join on target_info.
                options.ResourceConstantLabels = key => key is "service.instance.id" or "service.name";
            });
            var host = settings.PrometheusHost switch
            {
                "+" or "*" => "localhost",
                { } name when name.Contains(':', StringComparison.Ordinal) => $"[{name}]",
                { } name => name,
            };
            scrapeEndpoint = new Uri($"http://{host}:{port}/metrics");
        }

        TracerProvider? tracerProvider = null;
        ILoggerFactory? loggerFactory = null;
        if (otlp is not null)
        {
            metrics.AddOtlpExporter((exporter, reader) =>
            {
                Configure(exporter, otlp, "v1/metrics");
                // A demo is watched live: export every 2 s rather than the SDK's 60 s.
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 2000;
            });
            tracerProvider = Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(resource)
                .AddGradientDiagnostics()
                .AddOtlpExporter(exporter => Configure(exporter, otlp, "v1/traces"))
                .Build();
            loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(logging => logging.AddOpenTelemetry(options =>
            {
                options.SetResourceBuilder(resource);
                options.AddOtlpExporter(exporter => Configure(exporter, otlp, "v1/logs"));
            }));
        }

        return new DemoTelemetry(meter, metrics.Build(), tracerProvider, loggerFactory, scrapeEndpoint);
    }

    private static void Configure(OtlpExporterOptions exporter, OtlpTarget otlp, string signalPath)
    {
        // Set in code, the HTTP endpoint is used as given, so each signal needs its own path (the environment
        // variable OTEL_EXPORTER_OTLP_ENDPOINT would append it by itself).
        exporter.Protocol = otlp.Protocol == OtlpProtocol.Http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        exporter.Endpoint = otlp.Protocol == OtlpProtocol.Http
            ? new Uri(otlp.Endpoint.AbsoluteUri.TrimEnd('/') + "/" + signalPath)
            : otlp.Endpoint;
        if (otlp.Headers is not null)
        {
            exporter.Headers = otlp.Headers;
        }
    }

    /// <summary>Flushes and stops every exporter.</summary>
    public void Dispose()
    {
        meterProvider?.Dispose();
        tracerProvider?.Dispose();
        LoggerFactory?.Dispose();
        meter.Dispose();
    }
}
