using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Base of every GradientDiagnostics rule: concurrent, skips generated code, and registers nothing for a compilation that
/// does not reference TorchSharp. Each rule is a thin consumer of the compilation's <see cref="TrainingProgram"/>.
/// </summary>
public abstract class GradientDiagnosticsAnalyzer : DiagnosticAnalyzer
{
    private static readonly string[] RecurrentFactoryNames = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"];

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
            (tree, span) => SourceWords.Mentions(tree, span, TorchSharpSymbols.BackwardNames),
            (start, found) => start.RegisterOperationBlockAction(block =>
            {
                if (SymbolEqualityComparer.Default.Equals(block.OwningSymbol.ContainingType, start.Symbol))
                {
                    foreach (var root in Roots(block))
                    {
                        program.Bodies.Adopt(root.SemanticModel);
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
            (tree, span) => SourceWords.Mentions(tree, span, RecurrentFactoryNames),
            (start, found) => start.RegisterOperationAction(
                operation =>
                {
                    if (SymbolEqualityComparer.Default.Equals(operation.ContainingSymbol.ContainingType, start.Symbol)
                        && RecurrentModuleCreation.TryCreate(operation.Operation, program.Symbols) is { } creation)
                    {
                        program.Bodies.Adopt(operation.Operation.SemanticModel);
                        found.Enqueue((creation, operation.ContainingSymbol, TrainingProgram.Options(operation.Options, operation.Operation.Syntax.SyntaxTree)));
                    }
                },
                OperationKind.Invocation,
                OperationKind.ObjectCreation),
            item => item.Creation.Operation.Syntax.SpanStart,
            (end, item) => action(end, item.Creation, item.Member, item.Options));

    /// <summary>
    /// Runs <paramref name="action"/> for the operations of <paramref name="kinds"/> in the members of every type whose text
    /// <paramref name="mayMatter"/> admits. The driver binds no member of the other types for the rule: the rule costs
    /// nothing where it cannot report.
    /// </summary>
    private protected static void RegisterPerTypeOperationAction(
        CompilationStartAnalysisContext context,
        TrainingProgram program,
        Func<SyntaxTree, TextSpan, bool> mayMatter,
        Action<OperationAnalysisContext> action,
        params OperationKind[] kinds) =>
        context.RegisterSymbolStartAction(
            start =>
            {
                if (MayMatter(start.Symbol, mayMatter))
                {
                    start.RegisterOperationAction(
                        operation =>
                        {
                            if (SymbolEqualityComparer.Default.Equals(operation.ContainingSymbol.ContainingType, start.Symbol))
                            {
                                program.Bodies.Adopt(operation.Operation.SemanticModel);
                                action(operation);
                            }
                        },
                        kinds);
                }
            },
            SymbolKind.NamedType);

    /// <summary>
    /// Collects items while a type's members are analysed and handles them at the type's end, in source order; types whose
    /// text <paramref name="mayMatter"/> rules out are skipped.
    /// </summary>
    private static void RegisterPerTypeAction<T>(
        CompilationStartAnalysisContext context,
        Func<SyntaxTree, TextSpan, bool> mayMatter,
        Action<SymbolStartAnalysisContext, ConcurrentQueue<T>> collect,
        Func<T, int> position,
        Action<SymbolAnalysisContext, T> handle) =>
        context.RegisterSymbolStartAction(
            start =>
            {
                if (!MayMatter(start.Symbol, mayMatter))
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

    private static bool MayMatter(ISymbol type, Func<SyntaxTree, TextSpan, bool> mayMatter) =>
        type.DeclaringSyntaxReferences.Any(reference => mayMatter(reference.SyntaxTree, reference.Span));

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
