using GradientDiagnostics;
using GradientDiagnostics.Reporting;
using static TorchSharp.torch;

namespace AddingProblem;

/// <summary>One model being trained: its training step, and every step's loss and gradient report.</summary>
public abstract class ModelTraining : IDisposable
{
    private readonly List<GradientStepReport> reports = new();
    private readonly Dictionary<long, double> losses = new();

    /// <summary>Name in the console, the report, telemetry (<c>gradient.model</c>) and the calibration file: the watch's model name, the model's type name.</summary>
    public string Name => Watch.ModelName;

    public abstract string Description { get; }

    /// <summary>What the analyzer says about this model's code.</summary>
    public abstract IReadOnlyList<string> Findings { get; }

    /// <summary>The clip_grad_norm_ max norm, or null for a run that does not clip.</summary>
    public abstract double? ClipThreshold { get; }

    public IReadOnlyList<GradientStepReport> Reports => reports;

    public IReadOnlyDictionary<long, double> Losses => losses;

    public double? LastLoss { get; private set; }

    public GradientStepReport? LastReport => reports.Count == 0 ? null : reports[^1];

    public int AnomalyCount { get; private set; }

    public void Step(long step, Tensor inputs, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var (loss, report) = TrainStep(step, inputs, targets);
        reports.Add(report);
        losses[step] = loss;
        LastLoss = loss;
        AnomalyCount += report.Anomalies.Count;
    }

    public GradientReportRun ToReportRun() => new(Name, reports)
    {
        Description = Description,
        ClipThreshold = ClipThreshold,
        Findings = Findings,
        Losses = losses,
    };

    /// <summary>Writes this model's entry into the calibration file at <paramref name="path"/> (see <see cref="GradientWatch.WriteCalibration"/>).</summary>
    public void WriteCalibration(string path) => Watch.WriteCalibration(path);

    public abstract void Dispose();

    /// <summary>The watch on this model.</summary>
    protected abstract GradientWatch Watch { get; }

    /// <summary>One optimisation step on the batch; returns the loss and what the gradient watch measured.</summary>
    protected abstract (double Loss, GradientStepReport Report) TrainStep(long step, Tensor inputs, Tensor targets);
}
