using System.Collections.Immutable;
using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0007: <c>clip_grad_norm_</c>/<c>clip_grad_value_</c> with a constant threshold that is ≤ 0, NaN, infinite, or above
/// <c>gradient_diagnostics.max_clip_threshold</c>. Reported on the clipping call, wherever it is: such a threshold is wrong in any context.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class InvalidClipThresholdAnalyzer : GradientDiagnosticsAnalyzer
{
    private static readonly string[] ClipGradNames = ["clip_grad_norm_", "clip_grad_value_"];

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.InvalidClipThreshold);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
        RegisterPerTypeOperationAction(
            context,
            program,
            (tree, span) => SourceWords.Mentions(tree, span, ClipGradNames),
            operation =>
            {
                var invocation = (IInvocationOperation)operation.Operation;
                if (program.Calls.ClipThreshold(invocation) is not { } argument || argument.ConstantDouble() is not { } threshold)
                {
                    return;
                }

                var options = TrainingProgram.Options(operation.Options, invocation.Syntax.SyntaxTree);
                if (Problem(threshold, options.MaxClipThreshold) is { } problem)
                {
                    operation.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InvalidClipThreshold, invocation.Syntax.GetLocation(), Format(threshold), problem));
                }
            },
            OperationKind.Invocation);

    private static string? Problem(double threshold, double ceiling)
    {
        if (double.IsNaN(threshold))
        {
            return "is NaN: every clipped gradient becomes NaN";
        }

        if (threshold <= 0)
        {
            return "is not positive: clipping zeroes (or reverses) every gradient";
        }

        if (double.IsPositiveInfinity(threshold))
        {
            return "is infinite: clipping never acts";
        }

        return threshold > ceiling
            ? $"is above the ceiling {Format(ceiling)} ({GradientDiagnosticsOptions.MaxClipThresholdKey}): clipping in effect never acts"
            : null;
    }

    private static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Infinity" : double.IsNegativeInfinity(value) ? "-Infinity" : value.ToString("R", CultureInfo.InvariantCulture);
}
