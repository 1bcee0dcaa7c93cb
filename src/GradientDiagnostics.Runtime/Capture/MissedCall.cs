namespace GradientDiagnostics.Capture;

/// <summary>Why a call the hooks saw left nothing to profile.</summary>
internal enum MissedCall
{
    /// <summary>More calls or tracked states than a step may hold went by without a <c>Record</c>.</summary>
    CaptureLimit,

    /// <summary>The call did not show which input dimension is time (T = N and the outputs could not tell).</summary>
    LayoutUnknown,

    /// <summary>Capturing threw; the exception was logged.</summary>
    CaptureFailed,
}
