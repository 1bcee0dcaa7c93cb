using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0006: clipping that runs in a training step but not between backward() and step(), so it cannot bound the update.
/// Reported on the clipping call; additional location [0] is the backward() the fix moves the clip after.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class IneffectiveClipPlacementAnalyzer : GradientDiagnosticsAnalyzer
{
    public const string BeforeBackward = "before backward()";
    public const string AfterStep = "after step()";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.IneffectiveClipPlacement);

    protected override void Register(CompilationStartAnalysisContext context, TorchSharpSymbols symbols) =>
        TrainingSteps.RegisterTrainingMethodAction(context, symbols, (block, _, method) =>
        {
            foreach (var clip in method.Clips)
            {
                if (method.Steps.Any(step => TrainingMethod.IsBetweenBackwardAndStep(clip, step)))
                {
                    continue;
                }

                var step = method.Steps.FirstOrDefault(candidate => TrainingMethod.IsInStep(clip, candidate));
                if (step is null)
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
