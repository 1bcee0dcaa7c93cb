using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0001: a recurrent training step with no gradient clipping between backward() and step(). Reported on the optimizer's
/// step() call. For the fix: additional locations <see cref="DiagnosticProperties.BackwardLocation"/> (the backward() after
/// which to clip) and, when recoverable, <see cref="DiagnosticProperties.ParametersLocation"/> (the expression the optimizer's
/// parameters came from); properties <see cref="DiagnosticProperties.MaxNorm"/> — the calibration file's recommendation for
/// the step's model when there is one (with <see cref="DiagnosticProperties.MaxNormProvenance"/>), else the configured
/// default — and, where GradientDiagnostics.Runtime is referenced, <see cref="DiagnosticProperties.AdaptiveClipping"/>.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MissingGradientClippingAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.MissingGradientClipping);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program)
    {
        var adaptiveClipping = program.References(WatchCoverage.RuntimeAssemblyName);
        RegisterTrainingMethodAction(context, program, (block, method) =>
        {
            foreach (var step in method.Steps)
            {
                // A clip anywhere in the step counts here: a misplaced one is GD0006's to report.
                // A user optimizer whose step() clips before updating is clipping between backward() and the update.
                if (method.Clips.Any(clip => TrainingMethod.IsInStep(clip, step) || TrainingMethod.IsBetweenBackwardAndStep(clip, step))
                    || program.Calls.IsClippingMethod(step.StepCall.TargetMethod, method.Options, block.CancellationToken)
                    || !program.Models.IsRecurrent(step, block.CancellationToken))
                {
                    continue;
                }

                var parameterSources = program.Models.OptimizerParameterArguments(step, block.CancellationToken);
                var additional = parameterSources.Length == 1
                    ? ImmutableArray.Create(step.LastBackward.Syntax.GetLocation(), parameterSources[0].Syntax.GetLocation())
                    : ImmutableArray.Create(step.LastBackward.Syntax.GetLocation());
                var properties = program.Calibration.EntryFor(step, CalibrationSet.For(block.Options, block.CancellationToken), block.CancellationToken) is { } entry
                    ? DiagnosticProperties.Create().WithCalibratedMaxNorm(entry)
                    : DiagnosticProperties.Create().WithMaxNorm(method.Options.DefaultClipNorm);
                block.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.MissingGradientClipping,
                    step.StepCall.Syntax.GetLocation(),
                    additional,
                    adaptiveClipping ? properties.WithAdaptiveClipping() : properties,
                    step.DisplayName));
            }
        });
    }
}
