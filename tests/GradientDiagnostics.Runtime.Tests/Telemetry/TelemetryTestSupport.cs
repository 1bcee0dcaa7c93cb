using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using GradientDiagnostics.Telemetry;
using OpenTelemetry.Metrics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests.Telemetry;

/// <summary>
/// The meter and activity source are process-wide statics, so telemetry tests run one at a time, and each one
/// filters what it reads by its own <c>gradient.model</c> value in case another test project's code emits too.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "GradientTelemetry";
}

/// <summary>An LSTM regressor over whole sequences, the model shape of the adding problem.</summary>
internal sealed class SequenceRegressor : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm;
    private readonly Linear head;

    public SequenceRegressor(int inputSize, int hiddenSize)
        : base(nameof(SequenceRegressor))
    {
        lstm = nn.LSTM(inputSize, hiddenSize, batchFirst: true);
        head = nn.Linear(hiddenSize, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var (output, _, _) = lstm.call(input);
        return head.call(output.select(1, -1));
    }
}

/// <summary>Reports built from a real TorchSharp LSTM's backward pass, with norms computed here independently of GradientWatch.</summary>
internal static class RealLstm
{
    public const string ModuleName = "lstm";

    /// <summary>
    /// One forward/backward step over a batch of sequences of <paramref name="length"/> timesteps.
    /// <paramref name="poisonTimestep"/> puts a NaN into one sequence's input there: the forward pass carries it to the
    /// loss, so every parameter gradient and every timestep's input gradient is NaN, as when a bad sample enters a batch.
    /// <paramref name="nanGradientTimestep"/> adds sqrt(|0·x_t|) to the loss: its value is 0 but its derivative is
    /// 0·∞ = NaN, so only dL/dx_t is NaN.
    /// </summary>
    public static GradientStepReport Step(
        int length,
        long step = 1,
        IReadOnlyList<GradientAnomaly>? anomalies = null,
        int? poisonTimestep = null,
        int? nanGradientTimestep = null,
        int seed = 17,
        IReadOnlyList<string>? unprofiled = null)
    {
        using var scope = NewDisposeScope();
        manual_seed(seed);
        using var model = new SequenceRegressor(inputSize: 2, hiddenSize: 8);
        var input = randn(4, length, 2);
        if (poisonTimestep is { } t)
        {
            input[0, t, 0] = tensor(double.NaN);
        }

        input.requires_grad_(true);
        var loss = nn.functional.mse_loss(model.call(input), ones(4, 1));
        if (nanGradientTimestep is { } nanAt)
        {
            loss = loss + input.select(1, nanAt).mul(0).abs().sqrt().sum();
        }

        loss.backward();

        var names = new List<string>();
        var norms = new List<Tensor>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            using var grad = parameter.grad!;
            names.Add(name);
            norms.Add(grad.norm());
        }

        // One copy out of native memory for all parameter norms, rather than one item() each.
        var parameterValues = stack(norms).to(float64).data<double>().ToArray();
        var parameterNorms = names.Zip(parameterValues).ToDictionary(pair => pair.First, pair => pair.Second);
        var globalNorm = Math.Sqrt(parameterValues.Sum(norm => norm * norm));

        // Norms[t] = L2 norm over batch and features of dL/dx_t.
        var timestepNorms = input.grad!.pow(2).sum(new long[] { 0, 2 }).sqrt().to(float64).data<double>().ToArray();

        return new GradientStepReport(
            step,
            globalNorm,
            parameterNorms,
            new[] { new TimestepProfile(ModuleName, timestepNorms) },
            anomalies ?? Array.Empty<GradientAnomaly>(),
            unprofiled ?? Array.Empty<string>());
    }
}

internal static class ExportedMetrics
{
    public static IReadOnlyList<MetricPoint> Points(IEnumerable<MetricSnapshot> exported, string instrument, string model) =>
        exported.LastOrDefault(metric => metric.Name == instrument)?.MetricPoints
            .Where(point => Tag(point, GradientTelemetry.ModelAttribute) == model)
            .ToList() ?? new List<MetricPoint>();

    public static MetricSnapshot Latest(IEnumerable<MetricSnapshot> exported, string instrument) =>
        exported.Last(metric => metric.Name == instrument);

    public static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }

    public static Dictionary<string, object?> Tags(MetricPoint point)
    {
        var tags = new Dictionary<string, object?>();
        foreach (var tag in point.Tags)
        {
            tags.Add(tag.Key, tag.Value);
        }

        return tags;
    }

    public static List<(double Bound, long Count)> Buckets(MetricPoint point)
    {
        var buckets = new List<(double, long)>();
        foreach (var bucket in point.GetHistogramBuckets())
        {
            buckets.Add((bucket.ExplicitBound, bucket.BucketCount));
        }

        return buckets;
    }
}

/// <summary>Collects the failures Emit reports through its event source instead of throwing.</summary>
internal sealed class EmitFailureListener : EventListener
{
    public ConcurrentQueue<(string Part, string Model, string Exception)> Failures { get; } = new();

    public IEnumerable<(string Part, string Model, string Exception)> For(string model) =>
        Failures.Where(failure => failure.Model == model);

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == GradientTelemetryEventSource.SourceName)
        {
            EnableEvents(eventSource, EventLevel.Warning);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventSource.Name == GradientTelemetryEventSource.SourceName && eventData.EventId == 1)
        {
            Failures.Enqueue(((string)eventData.Payload![0]!, (string)eventData.Payload[1]!, (string)eventData.Payload[2]!));
        }
    }
}
