using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0001: a recurrent training step with no gradient clipping between backward() and step().
/// Reported on the optimizer's step() call. Additional locations, for the fix: [0] the backward() after which to clip,
/// [1] (when recoverable) the expression the optimizer's parameters came from.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MissingGradientClippingAnalyzer : GradientDiagnosticsAnalyzer
{
    /// <summary>Diagnostic property: the max norm the fix writes, as a C# double literal (<c>gradient_diagnostics.default_clip_norm</c>).</summary>
    public const string MaxNormProperty = "MaxNorm";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.MissingGradientClipping);

    protected override void Register(CompilationStartAnalysisContext context, TorchSharpSymbols symbols) =>
        TrainingSteps.RegisterTrainingMethodAction(context, symbols, (block, trainingSteps, method) =>
        {
            foreach (var step in method.Steps)
            {
                // A clip anywhere in the step counts here: a misplaced one is GD0006's to report.
                // A user optimizer whose step() clips before updating is clipping between backward() and the update.
                if (method.Clips.Any(clip => TrainingMethod.IsInStep(clip, step) || TrainingMethod.IsBetweenBackwardAndStep(clip, step))
                    || trainingSteps.IsClippingMethod(step.StepCall.TargetMethod, method.Options, block.CancellationToken)
                    || !trainingSteps.IsRecurrent(step, block.CancellationToken))
                {
                    continue;
                }

                var additional = ImmutableArray.CreateBuilder<Location>();
                additional.Add(step.LastBackward.Syntax.GetLocation());
                var parameterSources = trainingSteps.OptimizerParameterArguments(step, block.CancellationToken);
                if (parameterSources.Length == 1)
                {
                    additional.Add(parameterSources[0].Syntax.GetLocation());
                }

                block.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.MissingGradientClipping,
                    step.StepCall.Syntax.GetLocation(),
                    additional,
                    ImmutableDictionary<string, string?>.Empty.Add(MaxNormProperty, DoubleLiteral(method.Options.DefaultClipNorm)),
                    step.DisplayName));
            }
        });

    private static string DoubleLiteral(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.IndexOfAny(['.', 'E', 'e']) < 0 ? text + ".0" : text;
    }
}
