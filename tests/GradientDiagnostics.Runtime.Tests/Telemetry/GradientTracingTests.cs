using System.Diagnostics;
using GradientDiagnostics.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace GradientDiagnostics.Runtime.Tests.Telemetry;

[Collection(TelemetryCollection.Name)]
public class GradientTracingTests
{
    private static List<Activity> Mine(IEnumerable<Activity> exported, string model) =>
        exported.Where(activity => (string?)activity.GetTagItem("gradient.model") == model).ToList();

    [Fact]
    public void Each_recorded_step_is_one_span_with_step_norm_and_anomaly_events()
    {
        const string model = "trace-step";
        var anomalies = new[]
        {
            new GradientAnomaly(GradientAnomalyKind.Vanishing, "lstm: timestep 0 norm is 1e-9 of timestep 99", "initialise recurrent weights — GD0004"),
            new GradientAnomaly(GradientAnomalyKind.Exploding, "global norm 3e4 above 1e3", null),
        };
        var report = RealLstm.Step(length: 100, step: 42, anomalies: anomalies);
        var exported = new List<Activity>();
        using (var provider = Sdk.CreateTracerProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(exported).Build())
        {
            var activity = GradientTelemetry.StartStep(42, model);
            Assert.NotNull(activity);
            GradientTelemetry.Emit(report, model, logger: null, activity);
            Assert.True(activity!.IsStopped);
            provider.ForceFlush();
        }

        var span = Assert.Single(Mine(exported, model));
        Assert.Equal("gradient.record", span.DisplayName);
        Assert.Equal(ActivityKind.Internal, span.Kind);
        Assert.Equal("GradientDiagnostics", span.Source.Name);
        Assert.Equal(GradientTelemetry.Version, span.Source.Version);
        Assert.Equal(42L, span.GetTagItem("gradient.step"));
        Assert.Equal(report.GlobalNorm, span.GetTagItem("gradient.global_norm"));
        Assert.Equal(2, span.GetTagItem("gradient.anomaly.count"));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);

        var events = span.Events.ToList();
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal("gradient.anomaly", e.Name));
        var vanishing = events[0].Tags.ToDictionary(tag => tag.Key, tag => tag.Value);
        Assert.Equal("vanishing", vanishing["gradient.anomaly.kind"]);
        Assert.Equal(anomalies[0].Message, vanishing["gradient.anomaly.message"]);
        Assert.Equal("initialise recurrent weights — GD0004", vanishing["gradient.anomaly.remedy"]);
        var exploding = events[1].Tags.ToDictionary(tag => tag.Key, tag => tag.Value);
        Assert.Equal("exploding", exploding["gradient.anomaly.kind"]);
        Assert.False(exploding.ContainsKey("gradient.anomaly.remedy"));
    }

    [Fact]
    public void The_span_is_a_child_of_the_training_loops_current_activity()
    {
        const string model = "trace-parent";
        using var trainingSource = new ActivitySource("TrainingLoop");
        var exported = new List<Activity>();
        using var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource("TrainingLoop")
            .AddGradientDiagnostics()
            .AddInMemoryExporter(exported)
            .Build();

        using (var epoch = trainingSource.StartActivity("epoch"))
        {
            var activity = GradientTelemetry.StartStep(1, model);
            GradientTelemetry.Emit(RealLstm.Step(length: 5), model, logger: null, activity);
            Assert.Same(epoch, Activity.Current);
        }

        provider.ForceFlush();
        var span = Assert.Single(Mine(exported, model));
        var parent = Assert.Single(exported, activity => activity.DisplayName == "epoch");
        Assert.Equal(parent.SpanId, span.ParentSpanId);
        Assert.Equal(parent.TraceId, span.TraceId);
    }

    [Fact]
    public void The_users_sampler_decides_and_an_unsampled_step_exports_nothing()
    {
        const string model = "trace-sampled-out";
        var exported = new List<Activity>();
        using (var provider = Sdk.CreateTracerProviderBuilder()
            .AddGradientDiagnostics()
            .SetSampler(new AlwaysOffSampler())
            .AddInMemoryExporter(exported)
            .Build())
        {
            var activity = GradientTelemetry.StartStep(7, model);
            Assert.True(activity is null || !activity.Recorded);
            GradientTelemetry.Emit(RealLstm.Step(length: 5), model, logger: null, activity);
            provider.ForceFlush();
        }

        Assert.Empty(Mine(exported, model));
    }

    [Fact]
    public void Without_a_tracer_provider_no_span_is_started_and_Emit_accepts_none()
    {
        Assert.False(GradientTelemetry.ActivitySource.HasListeners());
        Assert.Null(GradientTelemetry.StartStep(1, "trace-nobody"));
        GradientTelemetry.Emit(RealLstm.Step(length: 5), "trace-nobody", logger: null, activity: null);
    }

    [Fact]
    public void A_tracer_provider_without_AddGradientDiagnostics_does_not_see_the_source()
    {
        using var provider = Sdk.CreateTracerProviderBuilder().AddSource("SomethingElse").Build();
        Assert.Null(GradientTelemetry.StartStep(1, "trace-not-subscribed"));
    }
}
