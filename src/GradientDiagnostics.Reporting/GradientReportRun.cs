namespace GradientDiagnostics.Reporting;

/// <summary>
/// One training run to show in a report: the <see cref="GradientStepReport"/>s that
/// <c>GradientWatch.Record</c> returned, in step order, plus what the charts need to know about the run.
/// </summary>
public sealed class GradientReportRun
{
    public GradientReportRun(string name, IReadOnlyList<GradientStepReport> steps)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(steps);
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i] is null)
            {
                throw new ArgumentException($"Step report {i} of run '{name}' is null.", nameof(steps));
            }
        }

        Name = name;
        Steps = steps;
    }

    /// <summary>Shown as the run's heading and in the summary table; unique within a report.</summary>
    public string Name { get; }

    public IReadOnlyList<GradientStepReport> Steps { get; }

    /// <summary>One paragraph under the heading, e.g. the model and its training set-up.</summary>
    public string? Description { get; init; }

    /// <summary>The <c>clip_grad_norm_</c> max norm, drawn over the global-norm curve; null when the run does not clip.</summary>
    public double? ClipThreshold { get; init; }

    /// <summary>
    /// What the analyzer says about this run's code, one line each. Rule ids (<c>GD0001</c>…) in the text
    /// become links to the rule's documentation.
    /// </summary>
    public IReadOnlyList<string> Findings { get; init; } = Array.Empty<string>();

    /// <summary>Training loss by step, drawn next to the gradient norms when given.</summary>
    public IReadOnlyDictionary<long, double>? Losses { get; init; }
}
