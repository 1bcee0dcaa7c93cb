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
        context.RegisterOperationAction(
            operation =>
            {
                var symbols = program.Symbols;
                if (RecurrentModuleCreation.TryCreate(operation.Operation, symbols) is not { } creation
                    || !symbols.IsVanillaRecurrentModule(creation.ModuleType)
                    || !program.ModuleUse.IsWhereDecided(creation, operation.ContainingSymbol, TrainingProgram.Options(operation.Options, operation.Operation.Syntax.SyntaxTree), operation.CancellationToken))
                {
                    return;
                }

                var gated = SymbolEqualityComparer.Default.Equals(creation.ModuleType, symbols.RnnCell) ? "nn.GRUCell or nn.LSTMCell" : "nn.GRU or nn.LSTM";
                operation.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.VanillaRnnInsteadOfGatedCell,
                    operation.Operation.Syntax.GetLocation(),
                    creation.DisplayName,
                    gated));
            },
            OperationKind.Invocation,
            OperationKind.ObjectCreation);
}
