using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>GD0005: a vanilla <c>nn.RNN</c>/<c>nn.RNNCell</c> is created where a gated cell (GRU, LSTM) is the standard remedy for vanishing gradients.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class VanillaRnnInsteadOfGatedCellAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.VanillaRnnInsteadOfGatedCell);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program)
    {
        var symbols = program.Symbols;
        context.RegisterOperationAction(
            operationContext =>
            {
                var creation = RecurrentModuleCreation.TryCreate(operationContext.Operation, symbols);
                if (creation is null || !symbols.IsVanillaRecurrentModule(creation.ModuleType))
                {
                    return;
                }

                var gated = SymbolEqualityComparer.Default.Equals(creation.ModuleType, symbols.RnnCell)
                    ? "nn.GRUCell or nn.LSTMCell"
                    : "nn.GRU or nn.LSTM";
                operationContext.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.VanillaRnnInsteadOfGatedCell,
                    operationContext.Operation.Syntax.GetLocation(),
                    creation.DisplayName,
                    gated));
            },
            OperationKind.Invocation,
            OperationKind.ObjectCreation);
    }
}
