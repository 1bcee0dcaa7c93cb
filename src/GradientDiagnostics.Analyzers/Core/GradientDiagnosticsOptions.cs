using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The <c>gradient_diagnostics.*</c> options of one syntax tree, read from .editorconfig.
/// Malformed values fall back to the default and are listed in <see cref="Errors"/> so a rule can report GD1000.
/// Equal when every value is equal: the compilation model keys every option-dependent answer by the whole set of options in
/// effect, so per-folder .editorconfig values can never share an answer computed under other values.
/// </summary>
internal sealed class GradientDiagnosticsOptions : IEquatable<GradientDiagnosticsOptions>
{
    private static readonly ConditionalWeakTable<AnalyzerConfigOptions, GradientDiagnosticsOptions> ReadOptions = new();

    private readonly int hashCode;
    private readonly Lazy<IReadOnlyCollection<string>?> clippingNames;
    private readonly Lazy<IReadOnlyCollection<string>?> detachNames;

    public const string Prefix = "gradient_diagnostics.";
    public const string DefaultClipNormKey = Prefix + "default_clip_norm";
    public const string MaxClipThresholdKey = Prefix + "max_clip_threshold";
    public const string ClippingMethodsKey = Prefix + "clipping_methods";
    public const string DetachMethodsKey = Prefix + "detach_methods";
    public const string InitMethodsKey = Prefix + "init_methods";
    public const string CalibrationLowFactorKey = Prefix + "calibration_low_factor";
    public const string CalibrationHighFactorKey = Prefix + "calibration_high_factor";

    public const double DefaultClipNormValue = 1.0;

    /// <summary>
    /// Clipping thresholds used in practice run from 0.1 to about 10 (Pascanu et al. 2013; word-language-model 0.25);
    /// 100 is an order of magnitude above that, so a larger threshold will in effect never clip.
    /// </summary>
    public const double DefaultMaxClipThresholdValue = 100.0;

    /// <summary>GD0011 warns below this multiple of the measured p10: below p10 nine steps in ten are rescaled.</summary>
    public const double DefaultCalibrationLowFactorValue = 1.0;

    /// <summary>GD0011 informs above this multiple of the measured max: an order of magnitude above every norm seen never clips.</summary>
    public const double DefaultCalibrationHighFactorValue = 10.0;

    private GradientDiagnosticsOptions(
        double defaultClipNorm,
        double maxClipThreshold,
        ImmutableArray<string> clippingMethods,
        ImmutableArray<string> detachMethods,
        ImmutableArray<string> initMethods,
        (double Low, double High) calibrationFactors,
        ImmutableArray<(string Key, string Value, string Reason)> errors)
    {
        DefaultClipNorm = defaultClipNorm;
        MaxClipThreshold = maxClipThreshold;
        CalibrationLowFactor = calibrationFactors.Low;
        CalibrationHighFactor = calibrationFactors.High;
        ClippingMethods = clippingMethods;
        DetachMethods = detachMethods;
        InitMethods = initMethods;
        Errors = errors;
        hashCode = ComputeHashCode();
        clippingNames = new(() => LastSegments(clippingMethods));
        detachNames = new(() => LastSegments(detachMethods));
    }

    /// <summary>The max norm the GD0001 fix writes.</summary>
    public double DefaultClipNorm { get; }

    /// <summary>GD0007's ceiling: a threshold above it never acts.</summary>
    public double MaxClipThreshold { get; }

    /// <summary>GD0011: a threshold below this multiple of the measured p10 is reported (a Warning).</summary>
    public double CalibrationLowFactor { get; }

    /// <summary>GD0011: a threshold above this multiple of the measured max is reported (an Info).</summary>
    public double CalibrationHighFactor { get; }

    /// <summary>Fully-qualified method names (wildcards allowed) that count as clipping.</summary>
    public ImmutableArray<string> ClippingMethods { get; }

    public ImmutableArray<string> DetachMethods { get; }

    public ImmutableArray<string> InitMethods { get; }

    public ImmutableArray<(string Key, string Value, string Reason)> Errors { get; }

    /// <summary>The simple names a configured clipping method is called by; null when a wildcard makes any name possible.</summary>
    public IReadOnlyCollection<string>? ClippingNames => clippingNames.Value;

    /// <summary>The simple names a configured detach method is called by; null when a wildcard makes any name possible.</summary>
    public IReadOnlyCollection<string>? DetachNames => detachNames.Value;

    /// <summary>The options in effect for <paramref name="tree"/>; read once per options object (hosts share one per set of files).</summary>
    public static GradientDiagnosticsOptions Read(AnalyzerConfigOptionsProvider provider, SyntaxTree tree) =>
        ReadOptions.GetValue(provider.GetOptions(tree), Read);

    public static GradientDiagnosticsOptions Read(AnalyzerConfigOptions options)
    {
        var errors = ImmutableArray.CreateBuilder<(string, string, string)>();
        var clipNorm = ReadPositiveNumber(options, DefaultClipNormKey, DefaultClipNormValue, errors);
        var ceiling = ReadPositiveNumber(options, MaxClipThresholdKey, DefaultMaxClipThresholdValue, errors);
        if (clipNorm > ceiling)
        {
            // The GD0001 fix must not write a threshold that GD0007 reports; the ceiling is the largest one it may write.
            var clipNormWasRead = errors.Count == 0 || errors[0].Item1 != DefaultClipNormKey;
            if (clipNormWasRead && options.TryGetValue(DefaultClipNormKey, out var clipNormRaw) && !string.IsNullOrWhiteSpace(clipNormRaw))
            {
                var ceilingText = ceiling.ToString(CultureInfo.InvariantCulture);
                errors.Add((DefaultClipNormKey, clipNormRaw, $"it is above {MaxClipThresholdKey} ({ceilingText}), so the GD0001 fix would write a threshold that GD0007 reports; {ceilingText} is used"));
            }

            clipNorm = ceiling;
        }

        return new GradientDiagnosticsOptions(
            clipNorm,
            ceiling,
            ReadNames(options, ClippingMethodsKey, errors),
            ReadNames(options, DetachMethodsKey, errors),
            ReadNames(options, InitMethodsKey, errors),
            (ReadFactor(options, CalibrationLowFactorKey, DefaultCalibrationLowFactorValue, 0, 1, errors), ReadFactor(options, CalibrationHighFactorKey, DefaultCalibrationHighFactorValue, 1, double.PositiveInfinity, errors)),
            errors.ToImmutable());
    }

    public bool Equals(GradientDiagnosticsOptions? other) =>
        other is not null
        && DefaultClipNorm.Equals(other.DefaultClipNorm)
        && MaxClipThreshold.Equals(other.MaxClipThreshold)
        && CalibrationLowFactor.Equals(other.CalibrationLowFactor)
        && CalibrationHighFactor.Equals(other.CalibrationHighFactor)
        && ClippingMethods.SequenceEqual(other.ClippingMethods)
        && DetachMethods.SequenceEqual(other.DetachMethods)
        && InitMethods.SequenceEqual(other.InitMethods)
        && Errors.SequenceEqual(other.Errors);

    public override bool Equals(object? obj) => Equals(obj as GradientDiagnosticsOptions);

    public override int GetHashCode() => hashCode;

    private int ComputeHashCode()
    {
        unchecked
        {
            var hash = DefaultClipNorm.GetHashCode();
            hash = (hash * 397) ^ MaxClipThreshold.GetHashCode();
            hash = (hash * 397) ^ CalibrationLowFactor.GetHashCode();
            hash = (hash * 397) ^ CalibrationHighFactor.GetHashCode();
            foreach (var name in ClippingMethods.Concat(DetachMethods).Concat(InitMethods))
            {
                hash = (hash * 397) ^ StringComparer.Ordinal.GetHashCode(name);
            }

            return hash;
        }
    }

    /// <summary>True when <paramref name="method"/>'s fully-qualified name (namespace.type.method) matches one of <paramref name="patterns"/>; '*' matches any run of characters.</summary>
    public static bool Matches(IMethodSymbol method, ImmutableArray<string> patterns)
    {
        if (patterns.IsDefaultOrEmpty)
        {
            return false;
        }

        var name = FullyQualifiedName(method);
        foreach (var pattern in patterns)
        {
            if (WildcardMatch(pattern, name))
            {
                return true;
            }
        }

        return false;
    }

    public static string FullyQualifiedName(IMethodSymbol method)
    {
        var type = method.ContainingType?.OriginalDefinition.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat.WithGenericsOptions(SymbolDisplayGenericsOptions.None));
        return type is null ? method.Name : type + "." + method.Name;
    }

    private static List<string>? LastSegments(ImmutableArray<string> patterns)
    {
        var names = new List<string>();
        foreach (var pattern in patterns)
        {
            var last = pattern.Substring(pattern.LastIndexOf('.') + 1);
            if (last.IndexOf('*') >= 0)
            {
                return null;
            }

            names.Add(last);
        }

        return names;
    }

    private static double ReadPositiveNumber(AnalyzerConfigOptions options, string key, double fallback, ImmutableArray<(string, string, string)>.Builder errors)
    {
        if (!options.TryGetValue(key, out var raw) || string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }

        if (!double.TryParse(raw.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value) || double.IsInfinity(value) || value <= 0)
        {
            errors.Add((key, raw, $"expected a finite number greater than 0, such as {fallback.ToString(CultureInfo.InvariantCulture)}; the default {fallback.ToString(CultureInfo.InvariantCulture)} is used"));
            return fallback;
        }

        return value;
    }

    /// <summary>
    /// A GD0011 factor: low in (0, 1], high in [1, ∞), so that the measured range [p10, max] itself is never reported and
    /// the two reports never overlap.
    /// </summary>
    private static double ReadFactor(AnalyzerConfigOptions options, string key, double fallback, double lowest, double highest, ImmutableArray<(string, string, string)>.Builder errors)
    {
        if (!options.TryGetValue(key, out var raw) || string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }

        var lowestIncluded = lowest > 0;
        if (double.TryParse(raw.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && !double.IsNaN(value) && !double.IsInfinity(value)
            && (lowestIncluded ? value >= lowest : value > lowest) && value <= highest)
        {
            return value;
        }

        var range = double.IsPositiveInfinity(highest)
            ? $"a finite number of at least {lowest.ToString(CultureInfo.InvariantCulture)}"
            : $"a number greater than {lowest.ToString(CultureInfo.InvariantCulture)} and at most {highest.ToString(CultureInfo.InvariantCulture)}";
        errors.Add((key, raw, $"expected {range}, such as {fallback.ToString(CultureInfo.InvariantCulture)}; the default {fallback.ToString(CultureInfo.InvariantCulture)} is used"));
        return fallback;
    }

    private static ImmutableArray<string> ReadNames(AnalyzerConfigOptions options, string key, ImmutableArray<(string, string, string)>.Builder errors)
    {
        if (!options.TryGetValue(key, out var raw) || string.IsNullOrWhiteSpace(raw))
        {
            return ImmutableArray<string>.Empty;
        }

        var names = ImmutableArray.CreateBuilder<string>();
        foreach (var part in raw.Split(','))
        {
            var name = part.Trim();
            if (name.Length == 0)
            {
                continue;
            }

            if (!IsValidPattern(name))
            {
                errors.Add((key, raw, $"'{name}' is not a fully-qualified method name such as MyCompany.Training.GradientTools.ClipAll (letters, digits, '_', '.' and the wildcard '*'); that entry is ignored"));
                continue;
            }

            names.Add(name);
        }

        return names.ToImmutable();
    }

    private static bool IsValidPattern(string pattern)
    {
        if (pattern.IndexOf('.') < 0 && pattern != "*")
        {
            return false;
        }

        foreach (var c in pattern)
        {
            if (!(char.IsLetterOrDigit(c) || c == '_' || c == '.' || c == '*'))
            {
                return false;
            }
        }

        return !pattern.StartsWith(".", System.StringComparison.Ordinal) && !pattern.EndsWith(".", System.StringComparison.Ordinal);
    }

    private static bool WildcardMatch(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == text[t])
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
