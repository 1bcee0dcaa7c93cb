using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The operation trees of methods declared in the compilation, so that clipping, detaching and initialisation done in
/// user helpers count. Under the analyzer driver, <see cref="Compilation.GetSemanticModel"/> hands back the driver's own
/// cached model of a tree, so a helper body bound here is bound once for the driver and every rule alike.
/// </summary>
internal sealed class SourceBodies
{
    private readonly Compilation compilation;
    private readonly ConcurrentDictionary<SyntaxTree, SemanticModel> models = new();

    public SourceBodies(Compilation compilation)
    {
        this.compilation = compilation;
    }

    /// <summary>True for a method (ordinary, local function, property getter) whose body is in source, so calls to it can be followed.</summary>
    public static bool IsSourceMethod(IMethodSymbol method) =>
        !method.DeclaringSyntaxReferences.IsEmpty && method.MethodKind is MethodKind.Ordinary or MethodKind.LocalFunction or MethodKind.PropertyGet;

    /// <summary>The body operations of a method, accessor or constructor declared in this compilation; empty for metadata methods.</summary>
    public IEnumerable<IOperation> Of(IMethodSymbol method, CancellationToken cancellationToken)
    {
        foreach (var reference in method.OriginalDefinition.DeclaringSyntaxReferences)
        {
            if (Operation(reference.GetSyntax(cancellationToken), cancellationToken) is { } operation)
            {
                yield return operation;
            }
        }
    }

    /// <summary>The operation for a syntax node of this compilation (e.g. a field initializer found through a symbol); null for other trees.</summary>
    public IOperation? Operation(SyntaxNode syntax, CancellationToken cancellationToken) =>
        compilation.ContainsSyntaxTree(syntax.SyntaxTree) ? Model(syntax.SyntaxTree).GetOperation(syntax, cancellationToken) : null;

    public SemanticModel Model(SyntaxTree tree) => models.GetOrAdd(tree, Create);

    /// <summary>
    /// Uses the semantic model the driver analyses a file with (taken from an operation it handed a rule): a body the driver
    /// has bound is then never bound again. An IDE analysing one document hands it a model of its own.
    /// </summary>
    public void Adopt(SemanticModel? model)
    {
        if (model is not null && model.Compilation == compilation && !(models.TryGetValue(model.SyntaxTree, out var known) && known == model))
        {
            models[model.SyntaxTree] = model;
        }
    }

    // Outside the driver (a code fix, a test) this is a model of our own, cached per tree.
#pragma warning disable RS1030 // Under the driver GetSemanticModel returns the driver's cached model: helpers are not bound twice.
    private SemanticModel Create(SyntaxTree tree) => compilation.GetSemanticModel(tree);
#pragma warning restore RS1030
}
