using System.Diagnostics.Metrics;

namespace GradientDiagnostics.Telemetry;

/// <summary>Histogram bucket boundaries as an <see cref="InstrumentAdvice{T}"/>, whichever System.Diagnostics.DiagnosticSource the application loads.</summary>
internal static class BucketAdvice
{
    /// <summary>
    /// Sets <see cref="InstrumentAdvice{T}.HistogramBucketBoundaries"/> by reflection rather than with an object
    /// initializer. The property is init-only, and an init accessor's signature names the <c>IsExternalInit</c> type it
    /// was compiled with: this package compiles against the net8.0 build of System.Diagnostics.DiagnosticSource, whose
    /// accessor names System.Runtime's, while the netstandard2.0 build that a .NET 8 application gets from a newer
    /// package (OpenTelemetry 1.21 brings version 11) names its own. A compiled initializer then throws
    /// MissingMethodException in the meter's type initializer and every metric and span of the watch is lost; the
    /// reflected setter binds to either.
    /// </summary>
    public static InstrumentAdvice<T> Boundaries<T>(IReadOnlyList<T> boundaries)
        where T : struct
    {
        var advice = new InstrumentAdvice<T>();
        typeof(InstrumentAdvice<T>).GetProperty(nameof(InstrumentAdvice<T>.HistogramBucketBoundaries))!.SetValue(advice, boundaries);
        return advice;
    }
}
