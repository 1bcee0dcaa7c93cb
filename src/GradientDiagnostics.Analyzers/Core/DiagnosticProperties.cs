using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;

namespace GradientDiagnostics.Analyzers;

/// <summary>Where GD0002's fix inserts the detach, relative to the anchor (additional location <see cref="DiagnosticProperties.AnchorLocation"/>).</summary>
internal enum DetachInsertion
{
    /// <summary>The anchor is the carrying assignment <c>h = hn;</c>: its value is detached in place (<c>h = hn.detach();</c>).</summary>
    AtCarry,

    /// <summary>The anchor is a statement: <c>h = h.detach();</c> goes right after it.</summary>
    AfterStatement,

    /// <summary>The anchor is a loop or method: <c>h = h.detach();</c> goes at the start of its body.</summary>
    AtBodyStart,
}

/// <summary>The shape of a carried state, which decides how it is detached.</summary>
internal enum StateShape
{
    /// <summary>A tensor: <c>h = h.detach();</c>.</summary>
    Tensor,

    /// <summary>A tensor that may be null: <c>h = h?.detach();</c>.</summary>
    NullableTensor,

    /// <summary>A tuple of tensors (an LSTM state): every element is detached.</summary>
    Tuple,

    /// <summary>A nullable tuple of tensors.</summary>
    NullableTuple,
}

/// <summary>GD0010: why the watch cannot profile a recurrent module call, which decides the fix.</summary>
internal enum UnprofiledCall
{
    /// <summary><c>module.forward(…)</c>: the anchor is the <c>forward</c> name, which becomes <c>call</c>.</summary>
    Forward,

    /// <summary><c>module.call(packed, …)</c>: the anchor is the packed argument, which is wrapped in <c>watch.TrackInput(packed, "name")</c>.</summary>
    UntrackedPackedInput,
}

/// <summary>A carried state as the fixer receives it: the shape of the carrier and, for a tuple, its arity.</summary>
internal readonly struct CarrierShape
{
    public CarrierShape(StateShape shape, int arity)
    {
        Shape = shape;
        Arity = arity;
    }

    public StateShape Shape { get; }

    public int Arity { get; }
}

/// <summary>
/// The contract between the analyzers and the code fixes, in one file both sides compile against: the positions of the
/// additional locations each rule reports and the keys of its typed properties, with their writers and readers. A fixer
/// reads what the analyzer found from here; it never parses message text or re-derives the analysis.
/// </summary>
internal static class DiagnosticProperties
{
    /// <summary>GD0001, GD0006: the backward() after which clipping belongs.</summary>
    public const int BackwardLocation = 0;

    /// <summary>GD0001 (optional): the expression the optimizer's parameters were built from.</summary>
    public const int ParametersLocation = 1;

    /// <summary>GD0008: the training loop whose body starts by clearing gradients.</summary>
    public const int LoopLocation = 0;

    /// <summary>GD0008 (optional): the step() inside the per-batch helper the loop calls.</summary>
    public const int HelperStepLocation = 1;

    /// <summary>GD0003/GD0004: every additional location is a constructor that misses the initialisation another constructor has (the fix initialises in those).</summary>
    public const int FirstConstructorLocation = 0;

    /// <summary>GD0002: the carrying assignment, statement, loop or method the detach is placed by (see <see cref="DetachInsertion"/>).</summary>
    public const int AnchorLocation = 0;

    /// <summary>GD0002: the carriers (the places that hold the state) follow the anchor, one location each.</summary>
    public const int FirstCarrierLocation = 1;

    /// <summary>GD0010: the <c>forward</c> name to rename, or the packed argument to wrap; absent when no fix compiles or no single watch is in scope.</summary>
    public const int UnprofiledCallAnchorLocation = 0;

    /// <summary>
    /// GD0001, GD0011: the max norm the fix writes, as a C# double literal: the calibration file's <c>recommendedClipNorm</c>
    /// for the model, else (GD0001) <c>gradient_diagnostics.default_clip_norm</c>.
    /// </summary>
    public const string MaxNorm = "MaxNorm";

    /// <summary>
    /// GD0001, GD0011 (optional): where the max norm comes from when a calibration file measured it, for the comment the fix
    /// writes next to the number (<c>p90 of the pre-clip global norm over 600 steps, gradient-calibration.json</c>).
    /// </summary>
    public const string MaxNormProvenance = "MaxNormProvenance";

    /// <summary>GD0001 (optional): the compilation references GradientDiagnostics.Runtime, so the fix also offers <c>AdaptiveGradientClipper</c>.</summary>
    public const string AdaptiveClipping = "AdaptiveClipping";

    /// <summary>GD0002: a <see cref="DetachInsertion"/>.</summary>
    public const string Insertion = "Insertion";

    /// <summary>GD0002: how many carriers follow the anchor; the detach targets (for <see cref="DetachInsertion.AtCarry"/>) follow them.</summary>
    public const string CarrierCount = "CarrierCount";

    /// <summary>GD0002: how many detach targets follow the carriers.</summary>
    public const string DetachTargetCount = "DetachTargetCount";

    /// <summary>GD0010: an <see cref="UnprofiledCall"/>.</summary>
    public const string UnprofiledCallKind = "UnprofiledCall";

    /// <summary>GD0010 (packed input): the simple name of the one watch in scope.</summary>
    public const string Watch = "Watch";

    /// <summary>GD0010 (packed input): true when the watch is declared nullable, so the fix reads <c>watch?.TrackInput(p, "name") ?? p</c>.</summary>
    public const string WatchMayBeNull = "WatchMayBeNull";

    /// <summary>GD0010 (packed input): the profile name <c>TrackInput</c> is given (the module's registered name).</summary>
    public const string ProfileName = "ProfileName";

    private const string CarrierShapePrefix = "CarrierShape.";
    private const string CarrierArityPrefix = "CarrierArity.";
    private const string DetachTargetMayBeNullPrefix = "DetachTargetMayBeNull.";

    public static ImmutableDictionary<string, string?> Create() => ImmutableDictionary<string, string?>.Empty;

    public static ImmutableDictionary<string, string?> WithMaxNorm(this ImmutableDictionary<string, string?> properties, double maxNorm)
    {
        var text = maxNorm.ToString("R", CultureInfo.InvariantCulture);
        return properties.SetItem(MaxNorm, text.IndexOfAny(['.', 'E', 'e']) < 0 ? text + ".0" : text);
    }

    /// <summary>The entry's recommended clip norm as the max norm, with its provenance.</summary>
    public static ImmutableDictionary<string, string?> WithCalibratedMaxNorm(this ImmutableDictionary<string, string?> properties, CalibrationEntry entry) =>
        properties.WithMaxNorm(entry.RecommendedClipNorm).SetItem(MaxNormProvenance, entry.Provenance);

    public static ImmutableDictionary<string, string?> WithAdaptiveClipping(this ImmutableDictionary<string, string?> properties) =>
        properties.SetItem(AdaptiveClipping, bool.TrueString);

    public static ImmutableDictionary<string, string?> WithInsertion(this ImmutableDictionary<string, string?> properties, DetachInsertion insertion) =>
        properties.SetItem(Insertion, insertion.ToString());

    /// <summary>The shape of the carrier at additional location <see cref="FirstCarrierLocation"/> + <paramref name="index"/>.</summary>
    public static ImmutableDictionary<string, string?> WithCarrier(this ImmutableDictionary<string, string?> properties, int index, CarrierShape carrier) =>
        properties
            .SetItem(CarrierCount, (index + 1).ToString(CultureInfo.InvariantCulture))
            .SetItem(CarrierShapePrefix + index.ToString(CultureInfo.InvariantCulture), carrier.Shape.ToString())
            .SetItem(CarrierArityPrefix + index.ToString(CultureInfo.InvariantCulture), carrier.Arity.ToString(CultureInfo.InvariantCulture));

    /// <summary>The detach target at additional location <see cref="FirstCarrierLocation"/> + carriers + <paramref name="index"/>; whether it may be null.</summary>
    public static ImmutableDictionary<string, string?> WithDetachTarget(this ImmutableDictionary<string, string?> properties, int index, bool mayBeNull) =>
        properties
            .SetItem(DetachTargetCount, (index + 1).ToString(CultureInfo.InvariantCulture))
            .SetItem(DetachTargetMayBeNullPrefix + index.ToString(CultureInfo.InvariantCulture), mayBeNull ? bool.TrueString : bool.FalseString);

    public static ImmutableDictionary<string, string?> WithUnprofiledCall(this ImmutableDictionary<string, string?> properties, UnprofiledCall kind) =>
        properties.SetItem(UnprofiledCallKind, kind.ToString());

    /// <summary>The watch the GD0010 fix tracks a packed input with, and the profile name.</summary>
    public static ImmutableDictionary<string, string?> WithTracking(this ImmutableDictionary<string, string?> properties, string watch, bool watchMayBeNull, string profileName) =>
        properties
            .SetItem(Watch, watch)
            .SetItem(WatchMayBeNull, watchMayBeNull ? bool.TrueString : bool.FalseString)
            .SetItem(ProfileName, profileName);

    public static string? ReadMaxNorm(IReadOnlyDictionary<string, string?> properties) =>
        properties.TryGetValue(MaxNorm, out var value) ? value : null;

    public static string? ReadMaxNormProvenance(IReadOnlyDictionary<string, string?> properties) =>
        properties.TryGetValue(MaxNormProvenance, out var value) ? value : null;

    public static bool ReadAdaptiveClipping(IReadOnlyDictionary<string, string?> properties) =>
        properties.TryGetValue(AdaptiveClipping, out var value) && value == bool.TrueString;

    public static DetachInsertion? ReadInsertion(IReadOnlyDictionary<string, string?> properties) =>
        properties.TryGetValue(Insertion, out var value) && Enum.TryParse<DetachInsertion>(value, out var insertion) ? insertion : null;

    public static int ReadCarrierCount(IReadOnlyDictionary<string, string?> properties) => ReadCount(properties, CarrierCount);

    public static int ReadDetachTargetCount(IReadOnlyDictionary<string, string?> properties) => ReadCount(properties, DetachTargetCount);

    public static bool ReadDetachTargetMayBeNull(IReadOnlyDictionary<string, string?> properties, int index) =>
        properties.TryGetValue(DetachTargetMayBeNullPrefix + index.ToString(CultureInfo.InvariantCulture), out var value) && value == bool.TrueString;

    public static UnprofiledCall? ReadUnprofiledCall(IReadOnlyDictionary<string, string?> properties) =>
        properties.TryGetValue(UnprofiledCallKind, out var value) && Enum.TryParse<UnprofiledCall>(value, out var kind) ? kind : null;

    /// <summary>The watch, whether it may be null, and the profile name; null when the analyzer found no single watch to track with.</summary>
    public static (string Watch, bool WatchMayBeNull, string ProfileName)? ReadTracking(IReadOnlyDictionary<string, string?> properties) =>
        properties.TryGetValue(Watch, out var watch) && watch is { Length: > 0 } && properties.TryGetValue(ProfileName, out var name) && name is not null
            ? (watch, properties.TryGetValue(WatchMayBeNull, out var mayBeNull) && mayBeNull == bool.TrueString, name)
            : null;

    public static CarrierShape? ReadCarrier(IReadOnlyDictionary<string, string?> properties, int index)
    {
        var key = index.ToString(CultureInfo.InvariantCulture);
        return properties.TryGetValue(CarrierShapePrefix + key, out var shapeText) && Enum.TryParse<StateShape>(shapeText, out var shape)
            && properties.TryGetValue(CarrierArityPrefix + key, out var arityText) && int.TryParse(arityText, NumberStyles.None, CultureInfo.InvariantCulture, out var arity)
            ? new CarrierShape(shape, arity)
            : null;
    }

    private static int ReadCount(IReadOnlyDictionary<string, string?> properties, string key) =>
        properties.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : 0;
}
