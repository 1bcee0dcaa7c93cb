using System.Diagnostics;
using System.Diagnostics.Metrics;
using GradientDiagnostics.Telemetry;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace GradientDiagnostics.Runtime.Tests.Telemetry;

/// <summary>
/// An exporter that fails or hangs never affects training: Emit returns promptly and never throws, whatever the
/// telemetry pipeline behind it does.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class ExporterFailureTests
{
    // Generous for a loaded 2-core machine, and far below the 30 s the blocking exporters hold their thread.
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    private sealed class ThrowingMetricExporter : BaseExporter<Metric>
    {
        private int calls;

        public int Calls => Volatile.Read(ref calls);

        public int ThreadId { get; private set; }

        public override ExportResult Export(in Batch<Metric> batch)
        {
            ThreadId = Environment.CurrentManagedThreadId;
            Interlocked.Increment(ref calls);
            throw new InvalidOperationException("collector unreachable");
        }
    }

    private sealed class BlockingExporter<T> : BaseExporter<T>
        where T : class
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public int ThreadId { get; private set; }

        public override ExportResult Export(in Batch<T> batch)
        {
            ThreadId = Environment.CurrentManagedThreadId;
            Entered.Set();
            Release.Wait(Hang);
            return ExportResult.Success;
        }
    }

    private sealed class ThrowingActivityExporter : BaseExporter<Activity>
    {
        public int Calls { get; private set; }

        public override ExportResult Export(in Batch<Activity> batch)
        {
            Calls++;
            throw new InvalidOperationException("collector unreachable");
        }
    }

    private sealed class ThrowingLoggerProvider : ILoggerProvider
    {
        public int Calls { get; private set; }

        public ILogger CreateLogger(string categoryName) => new ThrowingLogger(this);

        public void Dispose()
        {
        }

        private sealed class ThrowingLogger(ThrowingLoggerProvider provider) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                provider.Calls++;
                throw new IOException("log disk full");
            }
        }
    }

    private static GradientStepReport ReportWithAnomaly(long step = 1) =>
        RealLstm.Step(length: 50, step: step, anomalies: new[]
        {
            new GradientAnomaly(GradientAnomalyKind.Exploding, "global norm 2e3 above 1e3", "clip gradients — GD0001"),
        });

    [Fact]
    public void A_metric_exporter_that_throws_on_every_export_never_reaches_the_training_loop()
    {
        const string model = "failure-metric-throws";
        var report = ReportWithAnomaly();
        var exporter = new ThrowingMetricExporter();
        using var provider = Sdk.CreateMeterProviderBuilder()
            .AddGradientDiagnostics()
            .AddReader(new PeriodicExportingMetricReader(exporter, exportIntervalMilliseconds: 10))
            .Build();

        var deadline = Stopwatch.StartNew();
        while (exporter.Calls < 3 && deadline.Elapsed < Hang)
        {
            GradientTelemetry.Emit(report, model, logger: null);
            Thread.Sleep(5);
        }

        Assert.True(exporter.Calls >= 3, $"exporter ran {exporter.Calls} times");
        // Export runs on the periodic reader's own thread, never on the thread that calls Emit.
        Assert.NotEqual(Environment.CurrentManagedThreadId, exporter.ThreadId);
    }

    [Fact]
    public void A_metric_exporter_that_hangs_does_not_slow_Emit()
    {
        const string model = "failure-metric-hangs";
        var report = ReportWithAnomaly();
        var exporter = new BlockingExporter<Metric>();
        var provider = Sdk.CreateMeterProviderBuilder()
            .AddGradientDiagnostics()
            .AddReader(new PeriodicExportingMetricReader(exporter, exportIntervalMilliseconds: 10))
            .Build();
        try
        {
            GradientTelemetry.Emit(report, model, logger: null);
            Assert.True(exporter.Entered.Wait(Hang), "the exporter never ran");

            var elapsed = Stopwatch.StartNew();
            for (var step = 0; step < 200; step++)
            {
                GradientTelemetry.Emit(report, model, logger: null);
            }

            elapsed.Stop();
            Assert.False(exporter.Release.IsSet);
            Assert.True(elapsed.Elapsed < Prompt, $"200 Emit calls took {elapsed.Elapsed} behind a hung exporter");
            Assert.NotEqual(Environment.CurrentManagedThreadId, exporter.ThreadId);
        }
        finally
        {
            exporter.Release.Set();
            provider.Dispose();
        }
    }

    [Fact]
    public void A_span_exporter_that_hangs_behind_the_batch_processor_does_not_slow_Emit()
    {
        const string model = "failure-trace-hangs";
        var report = ReportWithAnomaly();
        var exporter = new BlockingExporter<Activity>();
        var provider = Sdk.CreateTracerProviderBuilder()
            .AddGradientDiagnostics()
            .AddProcessor(new BatchActivityExportProcessor(exporter, scheduledDelayMilliseconds: 10))
            .Build();
        try
        {
            GradientTelemetry.Emit(report, model, logger: null, GradientTelemetry.StartStep(0, model));
            Assert.True(exporter.Entered.Wait(Hang), "the exporter never ran");

            var elapsed = Stopwatch.StartNew();
            for (var step = 1; step <= 200; step++)
            {
                GradientTelemetry.Emit(report, model, logger: null, GradientTelemetry.StartStep(step, model));
            }

            elapsed.Stop();
            Assert.True(elapsed.Elapsed < Prompt, $"200 spans took {elapsed.Elapsed} behind a hung exporter");
            Assert.NotEqual(Environment.CurrentManagedThreadId, exporter.ThreadId);
        }
        finally
        {
            exporter.Release.Set();
            provider.Dispose();
        }
    }

    [Fact]
    public void A_span_exporter_that_throws_inside_a_simple_processor_is_contained()
    {
        const string model = "failure-trace-throws";
        var exporter = new ThrowingActivityExporter();
        using var provider = Sdk.CreateTracerProviderBuilder()
            .AddGradientDiagnostics()
            .AddProcessor(new SimpleActivityExportProcessor(exporter))
            .Build();

        // The simple processor exports synchronously when Emit stops the span, on this very thread.
        GradientTelemetry.Emit(ReportWithAnomaly(), model, logger: null, GradientTelemetry.StartStep(1, model));

        Assert.Equal(1, exporter.Calls);
    }

    [Fact]
    public void A_logger_that_throws_is_caught_reported_and_metrics_and_span_still_go_out()
    {
        const string model = "failure-logger-throws";
        var report = ReportWithAnomaly();
        var metrics = new List<MetricSnapshot>();
        var spans = new List<Activity>();
        var loggerProvider = new ThrowingLoggerProvider();
        using var listener = new EmitFailureListener();
        using var meterProvider = Sdk.CreateMeterProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(metrics).Build();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(spans).Build();
        using var factory = LoggerFactory.Create(logging => logging.AddProvider(loggerProvider));
        var logger = factory.CreateLogger("GradientDiagnostics");
        Assert.Throws<AggregateException>(() => logger.LogWarning("the logger really throws"));

        var activity = GradientTelemetry.StartStep(1, model);
        GradientTelemetry.Emit(report, model, logger, activity);

        Assert.True(loggerProvider.Calls >= 2);
        Assert.True(activity!.IsStopped);
        meterProvider.ForceFlush();
        tracerProvider.ForceFlush();
        Assert.Single(ExportedMetrics.Points(metrics, "gradient.anomaly", model));
        Assert.Single(spans, span => (string?)span.GetTagItem("gradient.model") == model);
        var failure = Assert.Single(listener.For(model));
        Assert.Equal("logs", failure.Part);
        Assert.Contains("log disk full", failure.Exception);
    }

    [Fact]
    public void A_measurement_listener_that_throws_is_caught_and_reported_and_the_span_still_goes_out()
    {
        const string model = "failure-meter-listener-throws";
        var spans = new List<Activity>();
        using var failures = new EmitFailureListener();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(spans).Build();
        using var meterListener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == GradientTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };

        // Throws for this test's model only, so that nothing else emitting in this process is disturbed.
        meterListener.SetMeasurementEventCallback<double>((instrument, value, tags, state) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == GradientTelemetry.ModelAttribute && (string?)tag.Value == model)
                {
                    throw new InvalidOperationException("listener bug");
                }
            }
        });
        meterListener.Start();

        GradientTelemetry.Emit(ReportWithAnomaly(), model, logger: null, GradientTelemetry.StartStep(1, model));

        tracerProvider.ForceFlush();
        Assert.Single(spans, span => (string?)span.GetTagItem("gradient.model") == model);
        var failure = Assert.Single(failures.For(model));
        Assert.Equal("metrics", failure.Part);
        Assert.Contains("listener bug", failure.Exception);
    }

    [Fact]
    public void A_null_report_is_reported_not_thrown_and_the_started_span_is_still_ended()
    {
        const string model = "failure-null-report";
        using var failures = new EmitFailureListener();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder().AddGradientDiagnostics().Build();
        var activity = GradientTelemetry.StartStep(1, model);

        GradientTelemetry.Emit(null!, model, logger: null, activity);

        Assert.True(activity!.IsStopped);
        Assert.Equal("report", Assert.Single(failures.For(model)).Part);
    }
}
