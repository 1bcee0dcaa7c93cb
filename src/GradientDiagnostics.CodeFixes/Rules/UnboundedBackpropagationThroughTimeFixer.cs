using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Text;
using Analyzer = GradientDiagnostics.Analyzers.UnboundedBackpropagationThroughTimeAnalyzer;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// GD0002 fix: detach the carried state (<c>h = h.detach();</c>, every tensor of an LSTM state) where the analyzer
/// found it safe — just after the store, or at the top of the training loop or method body. The detached tensor lives as
/// long as the state it replaces: a store from <c>X.MoveToOuterDisposeScope()</c> becomes
/// <c>X.detach().MoveToOuterDisposeScope()</c>, and a detach inserted inside a narrower dispose scope is moved out of it.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UnboundedBackpropagationThroughTimeFixer))]
[Shared]
public sealed class UnboundedBackpropagationThroughTimeFixer : CodeFixProvider
{
    private const string EquivalenceKey = RuleIdentifiers.UnboundedBackpropagationThroughTime + ".DetachCarriedState";
    private const string DetachName = "detach";
    private const string MoveToOuterDisposeScope = "MoveToOuterDisposeScope";
    private const string DetachFromDisposeScope = "DetachFromDisposeScope";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIdentifiers.UnboundedBackpropagationThroughTime);

    // All diagnostics of a document are fixed in one pass so that several states carried at one loop share one insertion.
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(
        async (context, document, diagnostics) => await ApplyAsync(document, diagnostics, context.CancellationToken).ConfigureAwait(false));

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
        {
            return;
        }

        foreach (var diagnostic in context.Diagnostics)
        {
            if (Plan.TryCreate(root, diagnostic) is not { } plan)
            {
                continue;
            }

            var title = "Detach " + string.Join(", ", plan.Carriers.Select(c => "'" + c.Expression + "'")) + " where it is carried";
            context.RegisterCodeFix(
                CodeAction.Create(title, token => ApplyAsync(context.Document, ImmutableArray.Create(diagnostic), token), EquivalenceKey),
                diagnostic);
        }
    }

    private static async Task<Document> ApplyAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null || TorchSharpSymbols.TryCreate(model.Compilation) is not { } symbols)
        {
            return document;
        }

        var semantics = new Semantics(model, symbols, cancellationToken);

        var plans = diagnostics.Select(d => Plan.TryCreate(root, d)).OfType<Plan>()
            .GroupBy(p => (p.Anchor, p.Mode))
            .Select(g => (g.Key.Anchor, g.Key.Mode, Carriers: g.SelectMany(p => p.Carriers).GroupBy(c => c.Expression).Select(c => c.First()).ToList()))
            .ToList();
        if (plans.Count == 0)
        {
            return document;
        }

        var endOfLine = root.DescendantTrivia().FirstOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia)).ToString();
        var lineBreak = endOfLine.Length == 0 ? SyntaxFactory.ElasticCarriageReturnLineFeed : SyntaxFactory.ElasticEndOfLine(endOfLine);
        var insertions = new Dictionary<SyntaxNode, (string Mode, List<StatementSyntax> Statements)>();
        var scopeMoves = new HashSet<SyntaxNode>();
        foreach (var (anchor, mode, carriers) in plans)
        {
            var statements = new List<StatementSyntax>();
            foreach (var carrier in carriers)
            {
                // A state stored as X.MoveToOuterDisposeScope() is detached as X.detach().MoveToOuterDisposeScope(): a detach
                // added after the store would be created inside the dispose scope and freed before the next iteration reads it.
                if (mode == Analyzer.InsertAfterStatement && ScopeMovesOfStoredValue((StatementSyntax)anchor, carrier, semantics) is { } moves)
                {
                    scopeMoves.UnionWith(moves);
                    continue;
                }

                var keepAlive = KeepAliveCall(carrier, anchor, mode, semantics);
                statements.Add(DetachStatement(carrier, justStored: mode == Analyzer.InsertAfterStatement, keepAlive, lineBreak));
            }

            if (statements.Count > 0)
            {
                insertions[anchor] = (mode, statements);
            }
        }

        var blocks = insertions
            .Select(i => i.Value.Mode == Analyzer.InsertAfterStatement ? i.Key.Parent as BlockSyntax : BodyBlock(i.Key))
            .OfType<BlockSyntax>()
            .Distinct();
        var rewritten = root.ReplaceNodes(
            blocks.Cast<SyntaxNode>().Concat(scopeMoves),
            (original, current) => original is BlockSyntax block ? Insert(block, (BlockSyntax)current, insertions) : DetachBeforeScopeMove(current));
        var formatted = await Formatter.FormatAsync(document.WithSyntaxRoot(rewritten), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
        return formatted;
    }

    /// <summary>
    /// The dispose-scope moves (<c>X.MoveToOuterDisposeScope()</c>, <c>X.DetachFromDisposeScope()</c>) that produce the
    /// value the store statement puts into the carrier, one per tensor of the state; null when the stored value is anything else.
    /// </summary>
    private static List<ExpressionSyntax>? ScopeMovesOfStoredValue(StatementSyntax store, Carrier carrier, Semantics semantics)
    {
        var stored = store.DescendantNodesAndSelf(n => n is not AnonymousFunctionExpressionSyntax and not LocalFunctionStatementSyntax)
            .OfType<AssignmentExpressionSyntax>()
            .Where(a => a.IsKind(SyntaxKind.SimpleAssignmentExpression))
            .Select(a => StoredInto(a.Left, a.Right, carrier.Expression))
            .FirstOrDefault(v => v is not null);
        if (stored is null)
        {
            return null;
        }

        var isTuple = carrier.Kind.StartsWith(Analyzer.TupleKind, System.StringComparison.Ordinal) || carrier.Kind.StartsWith(Analyzer.NullableTupleKind, System.StringComparison.Ordinal);
        var parts = isTuple
            ? (Unparenthesize(stored) is TupleExpressionSyntax tuple ? tuple.Arguments.Select(a => a.Expression).ToList() : null)
            : new List<ExpressionSyntax> { stored };
        if (parts is null)
        {
            return null;
        }

        var moves = new List<ExpressionSyntax>();
        foreach (var part in parts)
        {
            if (ScopeMove(Unparenthesize(part), semantics) is not { } move)
            {
                return null;
            }

            moves.Add(move);
        }

        return moves;
    }

    /// <summary>The expression a (possibly deconstructing) assignment stores into <paramref name="carrier"/>.</summary>
    private static ExpressionSyntax? StoredInto(ExpressionSyntax left, ExpressionSyntax right, string carrier)
    {
        if (left.ToString() == carrier)
        {
            return right;
        }

        if (left is TupleExpressionSyntax targets && Unparenthesize(right) is TupleExpressionSyntax values && targets.Arguments.Count == values.Arguments.Count)
        {
            for (var i = 0; i < targets.Arguments.Count; i++)
            {
                if (StoredInto(targets.Arguments[i].Expression, values.Arguments[i].Expression, carrier) is { } found)
                {
                    return found;
                }
            }
        }

        return null;
    }

    private static ExpressionSyntax Unparenthesize(ExpressionSyntax expression)
    {
        while (expression is ParenthesizedExpressionSyntax parenthesized)
        {
            expression = parenthesized.Expression;
        }

        return expression;
    }

    /// <summary><c>X.MoveToOuterDisposeScope()</c> or <c>X?.DetachFromDisposeScope()</c> on a TorchSharp tensor, else null.</summary>
    private static ExpressionSyntax? ScopeMove(ExpressionSyntax expression, Semantics semantics)
    {
        var invocation = expression switch
        {
            InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax } call => call,
            ConditionalAccessExpressionSyntax { WhenNotNull: InvocationExpressionSyntax { Expression: MemberBindingExpressionSyntax } call } => call,
            _ => null,
        };
        if (invocation is null || invocation.ArgumentList.Arguments.Count != 0
            || semantics.Model.GetSymbolInfo(invocation, semantics.CancellationToken).Symbol is not IMethodSymbol { Name: MoveToOuterDisposeScope or DetachFromDisposeScope } method
            || !semantics.Symbols.IsTensor(method.ContainingType))
        {
            return null;
        }

        return expression;
    }

    /// <summary>Puts <c>.detach()</c> in front of the dispose-scope move, so the detached tensor is the one kept alive.</summary>
    private static SyntaxNode DetachBeforeScopeMove(SyntaxNode move)
    {
        switch (move)
        {
            case InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access } call:
                var detached = SyntaxFactory.InvocationExpression(
                    SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, access.Expression.WithoutTrailingTrivia(), SyntaxFactory.IdentifierName(DetachName)));
                return call.WithExpression(access.WithExpression(detached.WithTrailingTrivia(access.Expression.GetTrailingTrivia())));
            case ConditionalAccessExpressionSyntax { WhenNotNull: InvocationExpressionSyntax { Expression: MemberBindingExpressionSyntax binding } call } conditional:
                var detachBinding = SyntaxFactory.InvocationExpression(SyntaxFactory.MemberBindingExpression(SyntaxFactory.IdentifierName(DetachName)));
                var moved = call.WithExpression(SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, detachBinding, binding.Name));
                return conditional.WithWhenNotNull(moved);
            default:
                return move;
        }
    }

    /// <summary>
    /// The call that keeps a tensor detached at the insertion point alive as long as the carrier holds it: none outside
    /// dispose scopes; <c>MoveToOuterDisposeScope()</c> out of one per-iteration scope; <c>DetachFromDisposeScope()</c>
    /// out of several, or for a field, property or <c>ref</c> parameter, whose value outlives every scope of the method.
    /// </summary>
    private static string? KeepAliveCall(Carrier carrier, SyntaxNode anchor, string mode, Semantics semantics)
    {
        var (block, precedingCount) = mode == Analyzer.InsertAfterStatement && anchor.Parent is BlockSyntax parent
            ? (parent, parent.Statements.IndexOf((StatementSyntax)anchor) + 1)
            : (BodyBlock(anchor), 0);
        if (block is null)
        {
            return null;
        }

        var scopes = ActiveDisposeScopes(block, precedingCount, semantics);
        if (scopes.Count == 0)
        {
            return null;
        }

        var declaration = CarrierDeclaration(carrier, anchor.SpanStart, semantics);
        var narrower = declaration is null
            ? scopes.Count
            : scopes.Count(s => !s.Contains(declaration) && s.Container.AncestorsAndSelf().Any(a => (IsLoop(a) || IsFunction(a)) && !a.Span.Contains(declaration.Span)));
        return narrower switch
        {
            0 => null,
            1 when declaration is not null => MoveToOuterDisposeScope,
            _ => DetachFromDisposeScope,
        };
    }

    /// <summary>The dispose scopes open at the insertion point: earlier <c>using var s = NewDisposeScope();</c> in enclosing blocks and enclosing <c>using (NewDisposeScope())</c> statements, up to the enclosing function.</summary>
    private static List<DisposeScopeRegion> ActiveDisposeScopes(BlockSyntax block, int precedingCount, Semantics semantics)
    {
        var scopes = new List<DisposeScopeRegion>();
        AddUsingDeclarations(block, precedingCount);
        for (SyntaxNode node = block; node.Parent is { } parent && !IsFunction(node); node = parent)
        {
            if (parent is UsingStatementSyntax @using && @using.Statement == node && CreatesDisposeScope(@using.Expression ?? @using.Declaration?.Variables.FirstOrDefault()?.Initializer?.Value))
            {
                scopes.Add(new DisposeScopeRegion(node, node.SpanStart));
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
                    && declaration.Declaration.Variables.Any(v => CreatesDisposeScope(v.Initializer?.Value)))
                {
                    scopes.Add(new DisposeScopeRegion(container, declaration.Span.End));
                }
            }
        }

        bool CreatesDisposeScope(ExpressionSyntax? expression) =>
            expression is not null && semantics.DisposeScope is not null
            && SymbolEqualityComparer.Default.Equals(semantics.Model.GetTypeInfo(expression, semantics.CancellationToken).Type, semantics.DisposeScope);
    }

    /// <summary>Where a carrier held in a local or by-value parameter is declared; null for state that outlives the method (field, property, <c>ref</c> parameter).</summary>
    private static SyntaxNode? CarrierDeclaration(Carrier carrier, int position, Semantics semantics)
    {
        var expression = SyntaxFactory.ParseExpression(carrier.Expression);
        while (true)
        {
            switch (expression)
            {
                case MemberAccessExpressionSyntax access:
                    expression = access.Expression;
                    continue;
                case ElementAccessExpressionSyntax element:
                    expression = element.Expression;
                    continue;
                case IdentifierNameSyntax identifier:
                    var symbol = semantics.Model.LookupSymbols(position, name: identifier.Identifier.ValueText).FirstOrDefault();
                    var isCallLocal = symbol is ILocalSymbol || symbol is IParameterSymbol { RefKind: RefKind.None };
                    return isCallLocal ? symbol!.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(semantics.CancellationToken) : null;
                default:
                    return null;
            }
        }
    }

    private static bool IsLoop(SyntaxNode node) =>
        node is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax;

    private static bool IsFunction(SyntaxNode node) =>
        node is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax;

    /// <summary>What the fix asks of the compilation: the document's semantic model and TorchSharp's types.</summary>
    private sealed class Semantics
    {
        public Semantics(SemanticModel model, TorchSharpSymbols symbols, CancellationToken cancellationToken)
        {
            Model = model;
            Symbols = symbols;
            DisposeScope = model.Compilation.GetTypeByMetadataName("TorchSharp.DisposeScope");
            CancellationToken = cancellationToken;
        }

        public SemanticModel Model { get; }

        public TorchSharpSymbols Symbols { get; }

        public INamedTypeSymbol? DisposeScope { get; }

        public CancellationToken CancellationToken { get; }
    }

    /// <summary>Where a dispose scope is open: inside <see cref="Container"/>, from <see cref="Start"/> to its end.</summary>
    private readonly struct DisposeScopeRegion
    {
        public DisposeScopeRegion(SyntaxNode container, int start)
        {
            Container = container;
            Start = start;
        }

        public SyntaxNode Container { get; }

        public int Start { get; }

        public bool Contains(SyntaxNode node) => Container.Span.Contains(node.SpanStart) && node.SpanStart >= Start;
    }

    /// <summary>Rebuilds one block with the detach statements that belong after its anchor statements or at its start.</summary>
    private static BlockSyntax Insert(BlockSyntax original, BlockSyntax current, Dictionary<SyntaxNode, (string Mode, List<StatementSyntax> Statements)> insertions)
    {
        var atStart = new List<StatementSyntax>();
        foreach (var pair in insertions)
        {
            if (pair.Value.Mode == Analyzer.InsertAtBodyStart && BodyBlock(pair.Key) == original)
            {
                atStart.AddRange(pair.Value.Statements);
            }
        }

        // Detaches already at the top (from an earlier fix) stay first, so fixing one by one or all at once reads the same.
        var leadingDetaches = original.Statements.TakeWhile(IsDetachStatement).Count();
        var statements = new List<StatementSyntax>();
        for (var i = 0; i < original.Statements.Count; i++)
        {
            if (i == leadingDetaches)
            {
                statements.AddRange(atStart);
            }

            statements.Add(current.Statements[i]);
            if (insertions.TryGetValue(original.Statements[i], out var after) && after.Mode == Analyzer.InsertAfterStatement)
            {
                statements.AddRange(after.Statements);
            }
        }

        if (leadingDetaches == original.Statements.Count)
        {
            statements.AddRange(atStart);
        }

        return current.WithStatements(SyntaxFactory.List(statements));
    }

    private static bool IsDetachStatement(StatementSyntax statement) =>
        statement is ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax assignment }
        && assignment.Right.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>().Any(i => i.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "detach" } or MemberBindingExpressionSyntax { Name.Identifier.ValueText: "detach" });

    private static BlockSyntax? BodyBlock(SyntaxNode anchor) => anchor switch
    {
        ForStatementSyntax f => f.Statement as BlockSyntax,
        CommonForEachStatementSyntax f => f.Statement as BlockSyntax,
        WhileStatementSyntax w => w.Statement as BlockSyntax,
        DoStatementSyntax d => d.Statement as BlockSyntax,
        BaseMethodDeclarationSyntax m => m.Body,
        AccessorDeclarationSyntax a => a.Body,
        LocalFunctionStatementSyntax l => l.Body,
        AnonymousFunctionExpressionSyntax f => f.Block,
        _ => null,
    };

    /// <param name="justStored">The statement follows the store of a recurrent state, so a nullable tensor is known to be non-null there.</param>
    /// <param name="keepAlive">A dispose-scope call appended to each detach, so the detached tensor outlives the scope it is created in.</param>
    private static StatementSyntax DetachStatement(Carrier carrier, bool justStored, string? keepAlive, SyntaxTrivia lineBreak)
    {
        var e = carrier.Expression;
        var detach = "detach()" + (keepAlive is null ? string.Empty : "." + keepAlive + "()");
        string text;
        if (carrier.Kind.StartsWith(Analyzer.NullableTupleKind, System.StringComparison.Ordinal))
        {
            var elements = Elements(carrier.Kind.Substring(Analyzer.NullableTupleKind.Length), i => $"{e}.Value.Item{i}.{detach}");
            text = $"{e} = {e}.HasValue ? ({elements}) : null;";
        }
        else if (carrier.Kind.StartsWith(Analyzer.TupleKind, System.StringComparison.Ordinal))
        {
            text = $"{e} = ({Elements(carrier.Kind.Substring(Analyzer.TupleKind.Length), i => $"{e}.Item{i}.{detach}")});";
        }
        else if (carrier.Kind == Analyzer.NullableTensorKind && !justStored)
        {
            text = $"{e} = {e}?.{detach};";
        }
        else
        {
            text = $"{e} = {e}.{detach};";
        }

        return SyntaxFactory.ParseStatement(text)
            .WithLeadingTrivia(SyntaxFactory.ElasticMarker)
            .WithTrailingTrivia(lineBreak)
            .WithAdditionalAnnotations(Formatter.Annotation);
    }

    private static string Elements(string arity, System.Func<int, string> element)
    {
        var count = int.TryParse(arity, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 1 ? n : 2;
        return string.Join(", ", Enumerable.Range(1, count).Select(element));
    }

    private sealed class Carrier
    {
        public Carrier(string kind, string expression)
        {
            Kind = kind;
            Expression = expression;
        }

        public string Kind { get; }

        public string Expression { get; }
    }

    /// <summary>What one diagnostic asks for: the carriers to detach, and where.</summary>
    private sealed class Plan
    {
        private Plan(SyntaxNode anchor, string mode, IReadOnlyList<Carrier> carriers)
        {
            Anchor = anchor;
            Mode = mode;
            Carriers = carriers;
        }

        public SyntaxNode Anchor { get; }

        public string Mode { get; }

        public IReadOnlyList<Carrier> Carriers { get; }

        public static Plan? TryCreate(SyntaxNode root, Diagnostic diagnostic)
        {
            var properties = diagnostic.Properties;
            if (!properties.TryGetValue(Analyzer.InsertModeProperty, out var mode)
                || !properties.TryGetValue(Analyzer.CarriersProperty, out var carriersText) || carriersText is null
                || !TryReadInt(properties, Analyzer.AnchorStartProperty, out var start)
                || !TryReadInt(properties, Analyzer.AnchorLengthProperty, out var length)
                || start < 0 || start + length > root.FullSpan.End)
            {
                return null;
            }

            var span = new TextSpan(start, length);
            var anchor = root.FindNode(span, getInnermostNodeForTie: true).AncestorsAndSelf().FirstOrDefault(n => n.Span == span && IsAnchor(n, mode));
            if (anchor is null)
            {
                return null;
            }

            var carriers = new List<Carrier>();
            foreach (var line in carriersText.Split('\n'))
            {
                var separator = line.IndexOf('|');
                if (separator > 0 && separator < line.Length - 1)
                {
                    carriers.Add(new Carrier(line.Substring(0, separator), line.Substring(separator + 1)));
                }
            }

            return carriers.Count == 0 ? null : new Plan(anchor, mode!, carriers);
        }

        private static bool IsAnchor(SyntaxNode node, string? mode) => mode switch
        {
            Analyzer.InsertAfterStatement => node is StatementSyntax && node.Parent is BlockSyntax,
            Analyzer.InsertAtBodyStart => BodyBlock(node) is not null,
            _ => false,
        };

        private static bool TryReadInt(ImmutableDictionary<string, string?> properties, string key, out int value)
        {
            value = 0;
            return properties.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }
    }
}
