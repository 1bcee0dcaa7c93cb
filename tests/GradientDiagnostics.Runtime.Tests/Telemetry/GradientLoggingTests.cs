using GradientDiagnostics.Telemetry;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace GradientDiagnostics.Runtime.Tests.Telemetry;

[Collection(TelemetryCollection.Name)]
public class GradientLoggingTests
{
    private static List<LogRecord> Log(GradientStepReport report, string model, LogLevel minimum)
    {
        var records = new List<LogRecord>();
        using (var factory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(minimum)
            .AddOpenTelemetry(options =>
            {
                options.IncludeFormattedMessage = true;
                options.AddInMemoryExporter(records);
            })))
        {
            GradientTelemetry.Emit(report, model, factory.CreateLogger("GradientDiagnostics"));
        }

        return records;
    }

    private static Dictionary<string, object?> Attributes(LogRecord record) =>
        record.Attributes!.ToDictionary(attribute => attribute.Key, attribute => attribute.Value);

    [Fact]
    public void Each_anomaly_is_a_structured_warning_with_event_id_1()
    {
        const string model = "logs-anomalies";
        var report = RealLstm.Step(length: 30, step: 9, anomalies: new[]
        {
            new GradientAnomaly(GradientAnomalyKind.NonFinite, "NaN in lstm.weight_hh_l0", "clip gradients — GD0001"),
            new GradientAnomaly(GradientAnomalyKind.Vanishing, "lstm timestep 0 / timestep 29 below 1e-6", null),
        });

        var warnings = Log(report, model, LogLevel.Information).Where(record => record.LogLevel == LogLevel.Warning).ToList();

        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, record =>
        {
            Assert.Equal(1, record.EventId.Id);
            Assert.Equal("GradientAnomaly", record.EventId.Name);
            Assert.Equal("GradientDiagnostics", record.CategoryName);
        });

        var nonFinite = Attributes(warnings[0]);
        Assert.Equal("nonfinite", nonFinite["AnomalyKind"]);
        Assert.Equal(model, nonFinite["Model"]);
        Assert.Equal(9L, nonFinite["Step"]);
        Assert.Equal("NaN in lstm.weight_hh_l0", nonFinite["AnomalyMessage"]);
        Assert.Equal("clip gradients — GD0001", nonFinite["Remedy"]);
        Assert.Equal(
            "Gradient anomaly '{AnomalyKind}' in model '{Model}' at step {Step}: {AnomalyMessage} Remedy: {Remedy}.",
            nonFinite["{OriginalFormat}"]);
        Assert.Equal(
            "Gradient anomaly 'nonfinite' in model 'logs-anomalies' at step 9: NaN in lstm.weight_hh_l0 Remedy: clip gradients — GD0001.",
            warnings[0].FormattedMessage);
        Assert.Equal("none", Attributes(warnings[1])["Remedy"]);
        Assert.Equal("vanishing", Attributes(warnings[1])["AnomalyKind"]);
    }

    [Fact]
    public void A_healthy_step_logs_no_warning_and_its_summary_only_at_debug_level()
    {
        const string model = "logs-healthy";
        var report = RealLstm.Step(length: 30, step: 4);

        Assert.Empty(Log(report, model, LogLevel.Information));

        var debug = Assert.Single(Log(report, model, LogLevel.Debug));
        Assert.Equal(LogLevel.Debug, debug.LogLevel);
        Assert.Equal(2, debug.EventId.Id);
        Assert.Equal("GradientStepRecorded", debug.EventId.Name);
        var attributes = Attributes(debug);
        Assert.Equal(4L, attributes["Step"]);
        Assert.Equal(report.GlobalNorm, attributes["GlobalNorm"]);
        Assert.Equal(0, attributes["AnomalyCount"]);
    }

    [Fact]
    public void Inside_a_span_the_warning_carries_its_trace_and_span_ids()
    {
        const string model = "logs-correlated";
        var report = RealLstm.Step(length: 10, anomalies: new[]
        {
            new GradientAnomaly(GradientAnomalyKind.Exploding, "global norm 5e3", "clip gradients — GD0001"),
        });
        var spans = new List<System.Diagnostics.Activity>();
        using var tracing = OpenTelemetry.Sdk.CreateTracerProviderBuilder()
            .AddGradientDiagnostics()
            .AddInMemoryExporter(spans)
            .Build();
        var records = new List<LogRecord>();
        using (var factory = LoggerFactory.Create(logging => logging.AddOpenTelemetry(options => options.AddInMemoryExporter(records))))
        {
            var activity = GradientTelemetry.StartStep(1, model);
            GradientTelemetry.Emit(report, model, factory.CreateLogger("GradientDiagnostics"), activity);
        }

        tracing.ForceFlush();
        var span = Assert.Single(spans, s => (string?)s.GetTagItem("gradient.model") == model);
        var warning = Assert.Single(records);
        Assert.Equal(span.TraceId, warning.TraceId);
        Assert.Equal(span.SpanId, warning.SpanId);
    }
}
