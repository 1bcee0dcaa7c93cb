using System.Globalization;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// One model's entry of a calibration file (schema v1, docs/calibration.md): what a watched run measured of the model's
/// pre-clip global gradient norm, and the clip threshold it recommends.
/// </summary>
internal sealed class CalibrationEntry
{
    public CalibrationEntry(string model, long steps, double p10, double p50, double p90, double p99, double max, double recommendedClipNorm, string filePath, TextSpan modelSpan)
    {
        Model = model;
        Steps = steps;
        P10 = p10;
        P50 = p50;
        P90 = p90;
        P99 = p99;
        Max = max;
        RecommendedClipNorm = recommendedClipNorm;
        FilePath = filePath;
        ModelSpan = modelSpan;
    }

    /// <summary>The watch's model name: the model's type name unless the run set <c>ModelName</c>.</summary>
    public string Model { get; }

    public long Steps { get; }

    public double P10 { get; }

    public double P50 { get; }

    public double P90 { get; }

    public double P99 { get; }

    public double Max { get; }

    public double RecommendedClipNorm { get; }

    public string FilePath { get; }

    /// <summary>Where the entry's <c>model</c> value stands in its file.</summary>
    public TextSpan ModelSpan { get; }

    public string FileName => CalibrationSet.FileName(FilePath);

    /// <summary>
    /// Where <see cref="RecommendedClipNorm"/> comes from, for the comment a fix writes next to it
    /// (<c>p90 of 1,200 measured steps, gradient-calibration.json</c>): the 0.9 quantile (the runtime's rule, rounded to
    /// three significant digits) when it is the file's p90; otherwise the runtime moved it (exploding steps count above
    /// every healthy one) and the comment says only that the run recommends it.
    /// </summary>
    public string Provenance => string.Format(
        CultureInfo.InvariantCulture,
        "{0} {1:N0} measured steps, {2}",
        RecommendedClipNorm == RoundToThreeDigits(P90) ? "p90 of" : "recommended from",
        Steps,
        FileName);

    /// <summary>
    /// GD0011's Warning: <paramref name="threshold"/> lies below <paramref name="lowFactor"/> × p10, where at least nine steps
    /// in ten are rescaled. The run's own recommendation never does (rounding can put it a hair below a constant run's p10).
    /// </summary>
    public bool IsFarBelow(double threshold, double lowFactor) => threshold < System.Math.Min(lowFactor * P10, RecommendedClipNorm);

    /// <summary>GD0011's Info: <paramref name="threshold"/> lies above <paramref name="highFactor"/> × max, where the clip never engages.</summary>
    public bool IsFarAbove(double threshold, double highFactor) => threshold > System.Math.Max(highFactor * Max, RecommendedClipNorm);

    /// <summary>A measured figure as messages show it: three significant digits.</summary>
    public static string Format(double value) => value.ToString("G3", CultureInfo.InvariantCulture);

    private static double RoundToThreeDigits(double value) => double.Parse(value.ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
