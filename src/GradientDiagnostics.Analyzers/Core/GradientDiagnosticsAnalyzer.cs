using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Base of every GradientDiagnostics rule: concurrent, skips generated code, and registers nothing for a compilation that
/// does not reference TorchSharp. Each rule is a thin consumer of the compilation's <see cref="TrainingProgram"/>.
/// </summary>
public abstract class GradientDiagnosticsAnalyzer : DiagnosticAnalyzer
{
    public sealed override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            if (TrainingProgram.For(start.Compilation) is { } program)
            {
                Register(start, program);
            }
        });
    }

    /// <summary>Registers the rule's actions for a compilation that references TorchSharp.</summary>
    private protected abstract void Register(CompilationStartAnalysisContext context, TrainingProgram program);

    /// <summary>Runs <paramref name="action"/> once for every body of the compilation that forms training steps.</summary>
    private protected static void RegisterTrainingMethodAction(
        CompilationStartAnalysisContext context, TrainingProgram program, Action<OperationBlockAnalysisContext, TrainingMethod> action) =>
        context.RegisterOperationBlockAction(block =>
        {
            foreach (var root in Roots(block))
            {
                var options = TrainingProgram.Options(block.Options, root.Syntax.SyntaxTree);
                if (program.TrainingMethodOf(root, options, block.CancellationToken) is { } method)
                {
                    action(block, method);
                }
            }
        });

    /// <summary>
    /// Runs <paramref name="action"/> for every creation of a TorchSharp recurrent module, once the type that creates it has
    /// been analysed: judging a module reads its type's constructors and methods, which the driver has bound by then, so the
    /// judgement never binds a body of that type ahead of the driver.
    /// </summary>
    private protected static void RegisterRecurrentModuleCreationAction(
        CompilationStartAnalysisContext context, TrainingProgram program, Action<SymbolAnalysisContext, RecurrentModuleCreation, ISymbol, GradientDiagnosticsOptions> action) =>
        context.RegisterSymbolStartAction(
            start =>
            {
                var creations = new ConcurrentQueue<(RecurrentModuleCreation Creation, ISymbol Member, GradientDiagnosticsOptions Options)>();
                start.RegisterOperationAction(
                    operation =>
                    {
                        if (SymbolEqualityComparer.Default.Equals(operation.ContainingSymbol.ContainingType, start.Symbol)
                            && RecurrentModuleCreation.TryCreate(operation.Operation, program.Symbols) is { } creation)
                        {
                            creations.Enqueue((creation, operation.ContainingSymbol, TrainingProgram.Options(operation.Options, operation.Operation.Syntax.SyntaxTree)));
                        }
                    },
                    OperationKind.Invocation,
                    OperationKind.ObjectCreation);
                start.RegisterSymbolEndAction(end =>
                {
                    foreach (var (creation, member, options) in creations.OrderBy(c => c.Creation.Operation.Syntax.SpanStart))
                    {
                        action(end, creation, member, options);
                    }
                });
            },
            SymbolKind.NamedType);

    /// <summary>The distinct roots of a block's operations: a method body (one root for its body and initializer), parameter defaults.</summary>
    private protected static IEnumerable<IOperation> Roots(OperationBlockAnalysisContext block)
    {
        IOperation? previous = null;
        foreach (var operation in block.OperationBlocks)
        {
            var root = operation.Root();
            if (root != previous)
            {
                previous = root;
                yield return root;
            }
        }
    }
}
