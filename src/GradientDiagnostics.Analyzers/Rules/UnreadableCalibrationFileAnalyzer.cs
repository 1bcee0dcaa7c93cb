using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD1001: a calibration file (<see cref="CalibrationSet"/>) that cannot be read — invalid JSON, another schema, an entry
/// that breaks schema v1, or two entries for one model. Reported in the file itself, at the problem's line and column,
/// once per problem; what cannot be read is not used (GD0001's fix falls back to the configured default, GD0011 is silent).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnreadableCalibrationFileAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.UnreadableCalibrationFile);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
        context.RegisterAdditionalFileAction(file =>
        {
            var path = file.AdditionalFile.Path;
            var set = CalibrationSet.For(file.Options, file.CancellationToken);
            if (set.Files.FirstOrDefault(content => content.Path == path) is not { } content
                || file.Options.AdditionalFiles.First(other => other.Path == path) != file.AdditionalFile)
            {
                // Not a calibration file, or a second listing of one already reported.
                return;
            }

            foreach (var problem in set.ProblemsIn(path))
            {
                var lines = content.Text.Lines.GetLinePositionSpan(problem.Span);
                file.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.UnreadableCalibrationFile,
                    Location.Create(path, problem.Span, lines),
                    CalibrationSet.FileName(path),
                    string.Format(CultureInfo.InvariantCulture, "line {0}, column {1}: {2}", lines.Start.Line + 1, lines.Start.Character + 1, problem.Message)));
            }
        });
}
