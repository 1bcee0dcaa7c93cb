using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0011: the constant <c>max_norm</c> of a <c>clip_grad_norm_</c> acting on a training step, judged against the pre-clip
/// global norm a calibration file measured for the model whose parameters it clips, else for the step's model
/// (<see cref="CalibratedModels"/>): below
/// <c>calibration_low_factor</c> × p10 every step but the smallest tenth is rescaled (reported with the descriptor's
/// Warning); above <c>calibration_high_factor</c> × max the clip never engages (reported as Info). The file's own
/// <c>recommendedClipNorm</c> is never judged outside (rounding can put it a hair below a constant run's p10). Silent
/// without a file or an entry, for a threshold that is not a constant, for other norms than L2 and for
/// <c>clip_grad_value_</c> (neither compares with the measured norm), and where GD0007 already reports the threshold.
/// Reported on the threshold; property <see cref="DiagnosticProperties.MaxNorm"/> (the recommendation) for the fix.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ClipThresholdOutsideMeasuredNormsAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.ClipThresholdOutsideMeasuredNorms);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program)
    {
        var calibration = CalibrationSet.For(context.Options, context.CancellationToken);
        if (calibration.IsEmpty)
        {
            return;
        }

        RegisterTrainingMethodAction(context, program, (block, method) =>
        {
            // Constant L2 thresholds that some entry could report. Most lie within every measured range: then no model has
            // to be looked up, which is the expensive part.
            var candidates = new Dictionary<IInvocationOperation, (IOperation Threshold, double Value)>();
            foreach (var step in method.Steps)
            {
                foreach (var (clip, _) in program.ClipsOf(method, step))
                {
                    if (!candidates.ContainsKey(clip) && program.Calls.ClipThreshold(clip) is { } threshold && IsL2NormClip(clip)
                        && threshold.ConstantDouble() is { } value && value > 0 && value <= method.Options.MaxClipThreshold
                        && calibration.CouldReport(value, method.Options.CalibrationLowFactor, method.Options.CalibrationHighFactor))
                    {
                        candidates.Add(clip, (threshold, value));
                    }
                }
            }

            if (candidates.Count == 0)
            {
                return;
            }

            // A clip of one model's parameters (encoder.parameters()) is judged by that model's entry. Any other clip shared
            // by several steps is judged only when every one of them trains the same calibrated model.
            var entries = new Dictionary<IInvocationOperation, CalibrationEntry?>();
            var order = new List<IInvocationOperation>();
            var ownModel = new HashSet<IInvocationOperation>();
            foreach (var clip in candidates.Keys)
            {
                if (program.Calibration.EntryForClip(method.Root, clip, calibration, block.CancellationToken) is (true, var entry))
                {
                    ownModel.Add(clip);
                    entries.Add(clip, entry);
                    order.Add(clip);
                }
            }

            foreach (var step in method.Steps)
            {
                var clips = program.ClipsOf(method, step).Where(pair => candidates.ContainsKey(pair.Clip) && !ownModel.Contains(pair.Clip)).ToList();
                if (clips.Count == 0)
                {
                    continue;
                }

                var entry = program.Calibration.EntryFor(step, calibration, block.CancellationToken);
                foreach (var (clip, _) in clips)
                {
                    if (entries.TryGetValue(clip, out var seen))
                    {
                        entries[clip] = seen == entry ? entry : null;
                    }
                    else
                    {
                        entries.Add(clip, entry);
                        order.Add(clip);
                    }
                }
            }

            foreach (var clip in order)
            {
                var (threshold, value) = candidates[clip];
                if (entries[clip] is { } entry && Judge(value, entry, method.Options) is { } judgement)
                {
                    block.ReportDiagnostic(Diagnostic.Create(
                        DiagnosticDescriptors.ClipThresholdOutsideMeasuredNorms,
                        threshold.Syntax.GetLocation(),
                        judgement.Severity,
                        additionalLocations: null,
                        DiagnosticProperties.Create().WithCalibratedMaxNorm(entry),
                        value.ToString("R", CultureInfo.InvariantCulture),
                        judgement.Problem));
                }
            }
        });
    }

    private static (DiagnosticSeverity Severity, string Problem)? Judge(double threshold, CalibrationEntry entry, GradientDiagnosticsOptions options)
    {
        var measured = $"of the pre-clip global norm of '{entry.Model}' ({entry.Steps.ToString(CultureInfo.InvariantCulture)} steps, {entry.FileName})";
        var recommendation = CalibrationEntry.Format(entry.RecommendedClipNorm);
        if (entry.IsFarBelow(threshold, options.CalibrationLowFactor))
        {
            return (DiagnosticSeverity.Warning,
                $"is below {Factor(options.CalibrationLowFactor)}the measured p10 ({CalibrationEntry.Format(entry.P10)}) {measured}: at least nine steps in ten are rescaled, so the optimizer runs on normalised gradients; "
                + $"the run recommends {recommendation} (if the model trains only because of this clip, lower its learning rate instead)");
        }

        if (entry.IsFarAbove(threshold, options.CalibrationHighFactor))
        {
            return (DiagnosticSeverity.Info,
                $"is above {Factor(options.CalibrationHighFactor)}the measured max ({CalibrationEntry.Format(entry.Max)}) {measured}: the clip never engages at this model's scale; the run recommends {recommendation}");
        }

        return null;
    }

    private static string Factor(double factor) => factor == 1 ? string.Empty : factor.ToString("R", CultureInfo.InvariantCulture) + " × ";

    /// <summary><c>clip_grad_norm_</c> with the default <c>norm_type</c> or a constant 2: the norm the watch measured.</summary>
    private static bool IsL2NormClip(IInvocationOperation clip)
    {
        if (clip.TargetMethod.Name != "clip_grad_norm_")
        {
            return false;
        }

        foreach (var argument in clip.Arguments)
        {
            if (argument.Parameter?.Name == "norm_type" && argument.ArgumentKind == ArgumentKind.Explicit)
            {
                return argument.Value.ConstantDouble() == 2;
            }
        }

        return true;
    }
}
