using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Base of every GradientDiagnostics analyzer: concurrent, skips generated code, and registers nothing
/// for a compilation that does not reference TorchSharp.
/// </summary>
public abstract class GradientDiagnosticsAnalyzer : DiagnosticAnalyzer
{
    public sealed override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            var symbols = TorchSharpSymbols.TryCreate(start.Compilation);
            if (symbols is not null)
            {
                Register(start, symbols);
            }
        });
    }

    /// <summary>Registers the rule's actions for a compilation that references TorchSharp.</summary>
    protected abstract void Register(CompilationStartAnalysisContext context, TorchSharpSymbols symbols);
}
