using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0006: clipping that runs in a training step but not between backward() and step(), so it cannot bound the update.
/// Reported on the clipping call; additional location <see cref="DiagnosticProperties.BackwardLocation"/> is the backward()
/// the fix moves the clip after.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class IneffectiveClipPlacementAnalyzer : GradientDiagnosticsAnalyzer
{
    private const string BeforeBackward = "before backward()";
    private const string AfterStep = "after step()";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.IneffectiveClipPlacement);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
        RegisterTrainingMethodAction(context, program, (block, method) =>
        {
            foreach (var clip in method.Clips)
            {
                if (method.Steps.Any(step => TrainingMethod.IsBetweenBackwardAndStep(clip, step))
                    || method.Steps.FirstOrDefault(candidate => TrainingMethod.IsInStep(clip, candidate)) is not { } step)
                {
                    continue;
                }

                var backward = step.LastBackward;
                var where = step.Kind != StepPathKind.AroundLoop && clip.Syntax.SpanStart < backward.Syntax.SpanStart ? BeforeBackward : AfterStep;
                block.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.IneffectiveClipPlacement,
                    clip.Syntax.GetLocation(),
                    ImmutableArray.Create(backward.Syntax.GetLocation()),
                    clip.TargetMethod.Name,
                    where));
            }
        });
}
