using GradientDiagnostics.Hooks;

namespace GradientDiagnostics.Detection;

/// <summary>What prevents an anomaly: the text the report shows and the analyzer rules it names.</summary>
internal sealed record Remedy(string Text, IReadOnlyList<string> Rules);

/// <summary>
/// The remedy for each anomaly, by the kind of recurrence it was found in. docs/runtime.md ("Remedies") maps each anomaly
/// to every remedy the literature offers; these are the ones an analyzer rule enforces.
/// </summary>
internal static class Remedies
{
    private const string ShortenSpan = "or shorten the span the loss must reach back";

    public static Remedy NonFinite { get; } = new(
        "clip gradients — GD0001 (clipping bounds the steps that lead to overflow; once a gradient is NaN, skip the step and lower the learning rate)",
        ["GD0001"]);

    public static Remedy ExplodingAcrossSteps { get; } = new(
        "clip gradients — GD0001; detach the hidden state carried between batches (truncated BPTT) — GD0002",
        ["GD0001", "GD0002"]);

    private static readonly Remedy VanillaExplodingOverTime = new(
        "clip gradients — GD0001; initialise recurrent weights orthogonally — GD0003",
        ["GD0001", "GD0003"]);

    private static readonly Remedy GatedExplodingOverTime = new("clip gradients — GD0001", ["GD0001"]);

    private static readonly Remedy VanillaVanishing = new(
        "use a gated cell (LSTM/GRU) — GD0005; initialise recurrent weights orthogonally — GD0003",
        ["GD0005", "GD0003"]);

    private static readonly Remedy LstmVanishing = new(
        $"initialise recurrent weights orthogonally and the forget-gate bias to 1 — GD0004; {ShortenSpan}",
        ["GD0004"]);

    /// <summary>A GRU has no forget gate (its update gate already interpolates with the previous state); nor has a mix of cells one remedy for it.</summary>
    private static readonly Remedy GatedVanishing = new($"initialise recurrent weights orthogonally — GD0004; {ShortenSpan}", ["GD0004"]);

    public static Remedy ExplodingOverTime(RecurrentKind kind) => kind == RecurrentKind.Vanilla ? VanillaExplodingOverTime : GatedExplodingOverTime;

    public static Remedy Vanishing(RecurrentKind kind) => kind switch
    {
        RecurrentKind.Vanilla => VanillaVanishing,
        RecurrentKind.Lstm => LstmVanishing,
        _ => GatedVanishing,
    };
}
