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
    private static readonly string[] RecurrentFactoryNames = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"];
    private static readonly string[] BackwardName = ["backward"];

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

    /// <summary>
    /// Runs <paramref name="action"/> once for every body of the compilation that forms training steps, when the type declaring
    /// it has been analysed: the driver has bound the type's other members by then, so following the body's calls into them
    /// (a local Evaluate, a per-batch helper) never binds a body ahead of the driver. A type whose text never says backward
    /// has no training step and is not watched at all.
    /// </summary>
    private protected static void RegisterTrainingMethodAction(
        CompilationStartAnalysisContext context, TrainingProgram program, Action<SymbolAnalysisContext, TrainingMethod> action) =>
        RegisterPerTypeAction<IOperation>(
            context,
            BackwardName,
            (start, found) => start.RegisterOperationBlockAction(block =>
            {
                if (SymbolEqualityComparer.Default.Equals(block.OwningSymbol.ContainingType, start.Symbol))
                {
                    foreach (var root in Roots(block))
                    {
                        found.Enqueue(root);
                    }
                }
            }),
            root => root.Syntax.SpanStart,
            (end, root) =>
            {
                if (program.TrainingMethodOf(root, TrainingProgram.Options(end.Options, root.Syntax.SyntaxTree), end.CancellationToken) is { } method)
                {
                    action(end, method);
                }
            });

    /// <summary>
    /// Runs <paramref name="action"/> for every creation of a TorchSharp recurrent module, once the type that creates it has
    /// been analysed: judging a module reads its type's constructors and methods, which the driver has bound by then. A type
    /// whose text never names an nn factory (a module is created by one) creates none and is not watched at all.
    /// </summary>
    private protected static void RegisterRecurrentModuleCreationAction(
        CompilationStartAnalysisContext context, TrainingProgram program, Action<SymbolAnalysisContext, RecurrentModuleCreation, ISymbol, GradientDiagnosticsOptions> action) =>
        RegisterPerTypeAction<(RecurrentModuleCreation Creation, ISymbol Member, GradientDiagnosticsOptions Options)>(
            context,
            RecurrentFactoryNames,
            (start, found) => start.RegisterOperationAction(
                operation =>
                {
                    if (SymbolEqualityComparer.Default.Equals(operation.ContainingSymbol.ContainingType, start.Symbol)
                        && RecurrentModuleCreation.TryCreate(operation.Operation, program.Symbols) is { } creation)
                    {
                        found.Enqueue((creation, operation.ContainingSymbol, TrainingProgram.Options(operation.Options, operation.Operation.Syntax.SyntaxTree)));
                    }
                },
                OperationKind.Invocation,
                OperationKind.ObjectCreation),
            item => item.Creation.Operation.Syntax.SpanStart,
            (end, item) => action(end, item.Creation, item.Member, item.Options));

    /// <summary>
    /// Collects items while a type's members are analysed and handles them at the type's end, in source order; types whose
    /// declarations mention none of <paramref name="words"/> are skipped.
    /// </summary>
    private static void RegisterPerTypeAction<T>(
        CompilationStartAnalysisContext context,
        IReadOnlyCollection<string> words,
        Action<SymbolStartAnalysisContext, ConcurrentQueue<T>> collect,
        Func<T, int> position,
        Action<SymbolAnalysisContext, T> handle) =>
        context.RegisterSymbolStartAction(
            start =>
            {
                if (!start.Symbol.DeclaringSyntaxReferences.Any(reference => SourceWords.Mentions(reference.SyntaxTree, reference.Span, words)))
                {
                    return;
                }

                var found = new ConcurrentQueue<T>();
                collect(start, found);
                start.RegisterSymbolEndAction(end =>
                {
                    foreach (var item in found.OrderBy(position))
                    {
                        handle(end, item);
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
