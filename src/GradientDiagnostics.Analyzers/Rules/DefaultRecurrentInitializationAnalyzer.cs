using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0003 (vanilla <c>RNN</c>/<c>RNNCell</c>, Warning) and GD0004 (<c>LSTM</c>/<c>GRU</c>/<c>LSTMCell</c>/<c>GRUCell</c>, Info):
/// one judgement at two severities — a recurrent module, where its initialisation is decided and matters
/// (<see cref="ModuleUse"/>), whose weights are not explicitly initialised or loaded on every path that creates it
/// (<see cref="ModuleInitialization"/>). Reported on the creation; additional locations are the constructors that miss
/// the initialisation when another constructor has it (the fix initialises in those).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DefaultRecurrentInitializationAnalyzer : GradientDiagnosticsAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        DiagnosticDescriptors.DefaultVanillaRnnInitialization,
        DiagnosticDescriptors.DefaultGatedRnnInitialization);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
        RegisterRecurrentModuleCreationAction(context, program, (symbol, creation, member, options) =>
        {
            if (program.Initialization.FindUninitializedPath(creation, member, options, symbol.CancellationToken) is not { } uncovered
                || !program.ModuleUse.IsWhereDecided(creation, member, options, symbol.CancellationToken))
            {
                return;
            }

            var symbols = program.Symbols;
            var vanilla = symbols.IsVanillaRecurrentModule(creation.ModuleType);
            var descriptor = vanilla ? DiagnosticDescriptors.DefaultVanillaRnnInitialization : DiagnosticDescriptors.DefaultGatedRnnInitialization;
            var arguments = vanilla
                ? new object[] { creation.DisplayName }
                : new object[] { creation.DisplayName, symbols.IsLstmModule(creation.ModuleType) ? " and a forget-gate bias of 1" : string.Empty };
            var constructors = uncovered.Constructors.SelectMany(constructor => constructor.Locations.Where(location => location.IsInSource).Take(1));
            symbol.ReportDiagnostic(Diagnostic.Create(descriptor, creation.Operation.Syntax.GetLocation(), constructors, arguments));
        });
}
