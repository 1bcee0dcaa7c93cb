using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// TorchSharp dispose scopes around a point of code: a tensor created inside a scope is freed when the scope ends, so a
/// detached tensor that a carrier keeps beyond that scope must be moved out of it.
/// </summary>
internal sealed class DisposeScopes
{
    private const string MoveToOuterDisposeScope = "MoveToOuterDisposeScope";
    private const string DetachFromDisposeScope = "DetachFromDisposeScope";

    private readonly SemanticModel model;
    private readonly CancellationToken cancellationToken;
    private readonly INamedTypeSymbol? disposeScope;

    public DisposeScopes(SemanticModel model, CancellationToken cancellationToken)
    {
        this.model = model;
        this.cancellationToken = cancellationToken;
        disposeScope = model.Compilation.GetTypeByMetadataName("TorchSharp.DisposeScope");
    }

    /// <summary>
    /// The call that keeps a tensor created before statement <paramref name="index"/> of <paramref name="block"/> alive as long
    /// as the carriers hold it: none outside dispose scopes; <c>MoveToOuterDisposeScope()</c> out of one per-iteration scope;
    /// <c>DetachFromDisposeScope()</c> out of several, or for a field, property or <c>ref</c> parameter, whose value outlives
    /// every scope of the method.
    /// </summary>
    public string? KeepAliveCall(IEnumerable<SyntaxNode> carriers, BlockSyntax block, int index)
    {
        var scopes = ActiveScopes(block, index);
        if (scopes.Count == 0)
        {
            return null;
        }

        string? strongest = null;
        foreach (var carrier in carriers)
        {
            var declaration = CallLocalDeclaration(carrier);
            var narrower = declaration is null
                ? scopes.Count
                : scopes.Count(s => !s.Contains(declaration) && s.Container.AncestorsAndSelf().Any(a => (IsLoop(a) || IsFunction(a)) && !a.Span.Contains(declaration.Span)));
            var call = narrower switch
            {
                0 => null,
                1 when declaration is not null => MoveToOuterDisposeScope,
                _ => DetachFromDisposeScope,
            };
            strongest = strongest == DetachFromDisposeScope ? strongest : call ?? strongest;
        }

        return strongest;
    }

    private static bool IsLoop(SyntaxNode node) =>
        node is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax;

    private static bool IsFunction(SyntaxNode node) =>
        node is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax;

    /// <summary>The scopes open before statement <paramref name="index"/>: earlier <c>using var s = NewDisposeScope();</c> in enclosing blocks and enclosing <c>using (NewDisposeScope())</c> statements, up to the enclosing function.</summary>
    private List<Region> ActiveScopes(BlockSyntax block, int index)
    {
        var scopes = new List<Region>();
        AddUsingDeclarations(block, index);
        for (SyntaxNode node = block; node.Parent is { } parent && !IsFunction(node); node = parent)
        {
            if (parent is UsingStatementSyntax @using && @using.Statement == node && CreatesScope(@using.Expression ?? @using.Declaration?.Variables.FirstOrDefault()?.Initializer?.Value))
            {
                scopes.Add(new Region(node, node.SpanStart));
            }
            else if (parent is BlockSyntax enclosing && node is StatementSyntax statement)
            {
                AddUsingDeclarations(enclosing, enclosing.Statements.IndexOf(statement));
            }
        }

        return scopes;

        void AddUsingDeclarations(BlockSyntax container, int count)
        {
            foreach (var statement in container.Statements.Take(count))
            {
                if (statement is LocalDeclarationStatementSyntax { UsingKeyword.RawKind: (int)SyntaxKind.UsingKeyword } declaration
                    && declaration.Declaration.Variables.Any(v => CreatesScope(v.Initializer?.Value)))
                {
                    scopes.Add(new Region(container, declaration.Span.End));
                }
            }
        }
    }

    private bool CreatesScope(ExpressionSyntax? expression) =>
        expression is not null && disposeScope is not null
        && SymbolEqualityComparer.Default.Equals(model.GetTypeInfo(expression, cancellationToken).Type, disposeScope);

    /// <summary>Where a carrier held in a local or by-value parameter is declared; null for state that outlives the method (field, property, <c>ref</c> parameter).</summary>
    private SyntaxNode? CallLocalDeclaration(SyntaxNode carrier)
    {
        var expression = carrier;
        while (expression is MemberAccessExpressionSyntax or ElementAccessExpressionSyntax)
        {
            expression = expression is MemberAccessExpressionSyntax access ? access.Expression : ((ElementAccessExpressionSyntax)expression).Expression;
        }

        var symbol = expression is IdentifierNameSyntax identifier ? model.GetSymbolInfo(identifier, cancellationToken).Symbol : null;
        return symbol is ILocalSymbol or IParameterSymbol { RefKind: RefKind.None }
            ? symbol.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken)
            : null;
    }

    /// <summary>Where a dispose scope is open: inside <see cref="Container"/>, from <see cref="Start"/> to its end.</summary>
    private readonly struct Region
    {
        public Region(SyntaxNode container, int start)
        {
            Container = container;
            Start = start;
        }

        public SyntaxNode Container { get; }

        public int Start { get; }

        public bool Contains(SyntaxNode node) => Container.Span.Contains(node.SpanStart) && node.SpanStart >= Start;
    }
}
