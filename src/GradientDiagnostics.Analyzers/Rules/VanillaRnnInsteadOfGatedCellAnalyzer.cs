using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0005: a vanilla <c>nn.RNN</c>/<c>nn.RNNCell</c> created where the choice of cell is made and matters
/// (<see cref="ModuleUse"/>), where a gated cell (GRU, LSTM) is the standard remedy for vanishing gradients.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class VanillaRnnInsteadOfGatedCellAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.VanillaRnnInsteadOfGatedCell);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
        RegisterRecurrentModuleCreationAction(context, program, (symbol, creation, member, options) =>
        {
            var symbols = program.Symbols;
            if (!symbols.IsVanillaRecurrentModule(creation.ModuleType) || !program.ModuleUse.IsWhereDecided(creation, member, options, symbol.CancellationToken))
            {
                return;
            }

            var gated = SymbolEqualityComparer.Default.Equals(creation.ModuleType, symbols.RnnCell) ? "nn.GRUCell or nn.LSTMCell" : "nn.GRU or nn.LSTM";
            symbol.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.VanillaRnnInsteadOfGatedCell, creation.Operation.Syntax.GetLocation(), creation.DisplayName, gated));
        });
}
