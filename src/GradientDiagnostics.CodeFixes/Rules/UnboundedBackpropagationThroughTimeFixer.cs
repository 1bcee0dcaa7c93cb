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
/// found it safe — just after the store, or at the top of the training loop or method body.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UnboundedBackpropagationThroughTimeFixer))]
[Shared]
public sealed class UnboundedBackpropagationThroughTimeFixer : CodeFixProvider
{
    private const string EquivalenceKey = RuleIdentifiers.UnboundedBackpropagationThroughTime + ".DetachCarriedState";

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
        if (root is null)
        {
            return document;
        }

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
        foreach (var (anchor, mode, carriers) in plans)
        {
            insertions[anchor] = (mode, carriers.Select(c => DetachStatement(c, justStored: mode == Analyzer.InsertAfterStatement, lineBreak)).ToList());
        }

        var blocks = insertions
            .Select(i => i.Value.Mode == Analyzer.InsertAfterStatement ? i.Key.Parent as BlockSyntax : BodyBlock(i.Key))
            .OfType<BlockSyntax>()
            .Distinct();
        var rewritten = root.ReplaceNodes(blocks, (original, current) => Insert(original, current, insertions));
        var formatted = await Formatter.FormatAsync(document.WithSyntaxRoot(rewritten), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
        return formatted;
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
    private static StatementSyntax DetachStatement(Carrier carrier, bool justStored, SyntaxTrivia lineBreak)
    {
        var e = carrier.Expression;
        string text;
        if (carrier.Kind.StartsWith(Analyzer.NullableTupleKind, System.StringComparison.Ordinal))
        {
            var elements = Elements(carrier.Kind.Substring(Analyzer.NullableTupleKind.Length), i => $"{e}.Value.Item{i}.detach()");
            text = $"{e} = {e}.HasValue ? ({elements}) : null;";
        }
        else if (carrier.Kind.StartsWith(Analyzer.TupleKind, System.StringComparison.Ordinal))
        {
            text = $"{e} = ({Elements(carrier.Kind.Substring(Analyzer.TupleKind.Length), i => $"{e}.Item{i}.detach()")});";
        }
        else if (carrier.Kind == Analyzer.NullableTensorKind && !justStored)
        {
            text = $"{e} = {e}?.detach();";
        }
        else
        {
            text = $"{e} = {e}.detach();";
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
