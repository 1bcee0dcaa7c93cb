namespace GradientDiagnostics.Reporting;

/// <summary>How <see cref="GradientHtmlReport"/> writes a report.</summary>
public sealed class GradientReportOptions
{
    /// <summary>
    /// Where the analyzer rule pages live; <c>{base}GD0001.md</c> is linked for rule GD0001, and the runtime documentation
    /// (remedies, what the watch cannot see) at <c>{base}../runtime.md</c>, as in this repository's <c>docs/</c>.
    /// </summary>
    public static readonly Uri DefaultRuleDocumentationBase = new("https://github.com/GradientDiagnostics/GradientDiagnostics/blob/main/docs/rules/");

    public string Title { get; init; } = "Gradient report";

    public Uri RuleDocumentationBase { get; init; } = DefaultRuleDocumentationBase;

    /// <summary>
    /// Most training steps drawn per heatmap. Longer runs are thinned to evenly spaced steps (always keeping
    /// the first and last) so the page stays responsive; the line charts keep every step.
    /// </summary>
    public int MaxHeatmapRows { get; init; } = 500;

    /// <summary>Most parameters drawn in the per-parameter chart; the ones with the largest gradients are kept.</summary>
    public int MaxParameterTraces { get; init; } = 24;

    /// <summary>Most anomalies listed per run; the rest are counted.</summary>
    public int MaxAnomalyRows { get; init; } = 200;

    /// <summary>Printed in the header; defaults to the time of writing.</summary>
    public DateTimeOffset? GeneratedAt { get; init; }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Title, nameof(Title));
        ArgumentNullException.ThrowIfNull(RuleDocumentationBase, nameof(RuleDocumentationBase));
        if (!RuleDocumentationBase.IsAbsoluteUri)
        {
            throw new ArgumentException($"{nameof(RuleDocumentationBase)} must be an absolute URI, got '{RuleDocumentationBase}'.", nameof(RuleDocumentationBase));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHeatmapRows, 2, nameof(MaxHeatmapRows));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxParameterTraces, 1, nameof(MaxParameterTraces));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAnomalyRows, 0, nameof(MaxAnomalyRows));
    }

    internal string RuleLink(string ruleId) => new Uri(RuleDocumentationBase, ruleId + ".md").AbsoluteUri;

    internal string RuntimeLink(string section) => new Uri(RuleDocumentationBase, "../runtime.md#" + section).AbsoluteUri;
}
