namespace GradientDiagnostics;

/// <summary>A gradient pathology found in one step.</summary>
public sealed class GradientAnomaly
{
    public GradientAnomaly(GradientAnomalyKind kind, string message, string? remedy)
        : this(kind, message, remedy, Array.Empty<string>())
    {
    }

    /// <param name="rules">See <see cref="Rules"/>.</param>
    public GradientAnomaly(GradientAnomalyKind kind, string message, string? remedy, IReadOnlyList<string> rules)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(rules);
        Kind = kind;
        Message = message;
        Remedy = remedy;
        Rules = rules;
    }

    public GradientAnomalyKind Kind { get; }

    public string Message { get; }

    /// <summary>What prevents it, naming the analyzer rule (e.g. "clip gradients — GD0001").</summary>
    public string? Remedy { get; }

    /// <summary>The ids of the analyzer rules whose fixes prevent it (e.g. <c>GD0001</c>), in the order the remedy names them.</summary>
    public IReadOnlyList<string> Rules { get; }

    public override string ToString() => Remedy is null ? $"{Kind}: {Message}" : $"{Kind}: {Message} ({Remedy})";
}

public enum GradientAnomalyKind
{
    NonFinite,
    Exploding,
    Vanishing,
}
