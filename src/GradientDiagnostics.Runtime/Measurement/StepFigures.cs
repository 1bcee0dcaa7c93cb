using GradientDiagnostics.Capture;
using GradientDiagnostics.Hooks;

namespace GradientDiagnostics.Measurement;

/// <summary>What <see cref="GradientMeasurement"/> read from one step's gradients.</summary>
/// <param name="ParameterNorms">Per parameter with a gradient, keyed by its <c>named_parameters()</c> name.</param>
/// <param name="GlobalNorm">sqrt(Σ ||g_p||²) over those parameters.</param>
/// <param name="Profiles">One per capture that received a gradient, hooked calls and packed inputs first (in call order), then tracked states.</param>
internal sealed record StepFigures(IReadOnlyDictionary<string, double> ParameterNorms, double GlobalNorm, IReadOnlyList<MeasuredProfile> Profiles);

/// <summary>One timestep profile and where it came from.</summary>
/// <param name="Profile">The profile the report carries.</param>
/// <param name="Measured">Which timesteps had a gradient to read (all of them except for tracked states never registered or never reached).</param>
/// <param name="Kind">The recurrence behind it; null for a tracked packed input until <c>CoverageCheck</c> finds its module.</param>
/// <param name="Input">The captured input; null for tracked states.</param>
internal sealed record MeasuredProfile(TimestepProfile Profile, bool[] Measured, RecurrentKind? Kind, InputCapture? Input);
