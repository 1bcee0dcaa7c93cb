using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// GD0002 fix: detaches the carried state where the analyzer found it safe. At a carry that is a plain assignment the
/// value is detached in place (<c>h = hn.detach();</c>, <c>state = (h.detach(), c.detach());</c>,
/// <c>h = hn.detach().MoveToOuterDisposeScope();</c>); otherwise <c>h = h.detach();</c> (every tensor of an LSTM state) goes
/// just after the store or at the top of the training loop or method body. A tensor detached inside a narrower dispose
/// scope than the carrier lives in is moved out of it (<see cref="DisposeScopes"/>), so the next iteration never reads a
/// freed tensor.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UnboundedBackpropagationThroughTimeFixer)), Shared]
public sealed class UnboundedBackpropagationThroughTimeFixer : TextChangeCodeFixProvider
{
    private const string MoveToOuterDisposeScope = "MoveToOuterDisposeScope";
    private const string DetachFromDisposeScope = "DetachFromDisposeScope";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIdentifiers.UnboundedBackpropagationThroughTime);

    protected override async Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        if (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not { } root
            || await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false) is not { } model
            || DiagnosticProperties.ReadInsertion(diagnostic.Properties) is not { } insertion
            || Node(root, diagnostic, DiagnosticProperties.AnchorLocation) is not { } anchor)
        {
            return null;
        }

        var carriers = new List<(SyntaxNode Node, CarrierShape Shape)>();
        var carrierCount = DiagnosticProperties.ReadCarrierCount(diagnostic.Properties);
        for (var i = 0; i < carrierCount; i++)
        {
            if (Node(root, diagnostic, DiagnosticProperties.FirstCarrierLocation + i) is not { } carrier || DiagnosticProperties.ReadCarrier(diagnostic.Properties, i) is not { } shape)
            {
                return null;
            }

            carriers.Add((carrier, shape));
        }

        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        var scopes = new DisposeScopes(model, cancellationToken);
        var changes = insertion switch
        {
            DetachInsertion.AtCarry => DetachAtCarry(root, diagnostic, carrierCount, anchor, carriers, scopes),
            DetachInsertion.AfterStatement when anchor is StatementSyntax { Parent: BlockSyntax block } statement =>
                Insert(text, block, block.Statements.IndexOf(statement) + 1, carriers, justStored: true, scopes),
            DetachInsertion.AtBodyStart when StatementEdits.BodyBlock(anchor) is { } body =>
                Insert(text, body, body.Statements.TakeWhile(IsDetachStatement).Count(), carriers, justStored: false, scopes),
            _ => default,
        };
        return changes.IsDefaultOrEmpty ? null : new TextFix("Detach " + string.Join(", ", carriers.Select(c => "'" + c.Node + "'")) + " where it is carried", changes);
    }

    /// <summary>
    /// <c>h = hn;</c> becomes <c>h = hn.detach();</c>: the detach is appended to each tensor the carry reads, before a
    /// dispose-scope move (<c>hn.detach().MoveToOuterDisposeScope()</c>), which then keeps the detached tensor alive.
    /// </summary>
    private static ImmutableArray<TextChange> DetachAtCarry(
        SyntaxNode root, Diagnostic diagnostic, int carrierCount, SyntaxNode anchor, List<(SyntaxNode Node, CarrierShape Shape)> carriers, DisposeScopes scopes)
    {
        var changes = ImmutableArray.CreateBuilder<TextChange>();
        var targets = DiagnosticProperties.ReadDetachTargetCount(diagnostic.Properties);
        for (var i = 0; i < targets; i++)
        {
            if (Node(root, diagnostic, DiagnosticProperties.FirstCarrierLocation + carrierCount + i) is not { } target)
            {
                return default;
            }

            if (target.Parent is ConditionalAccessExpressionSyntax { WhenNotNull: InvocationExpressionSyntax { Expression: MemberBindingExpressionSyntax binding } } access
                && access.Expression == target)
            {
                // h?.DetachFromDisposeScope() becomes h?.detach().DetachFromDisposeScope().
                changes.Add(new TextChange(new TextSpan(binding.Name.SpanStart, 0), "detach()."));
                continue;
            }

            var moved = target.Parent is MemberAccessExpressionSyntax { Name.Identifier.ValueText: MoveToOuterDisposeScope or DetachFromDisposeScope } move && move.Expression == target;
            var keepAlive = moved || anchor is not StatementSyntax { Parent: BlockSyntax block } statement
                ? null
                : scopes.KeepAliveCall(carriers.Select(c => c.Node), block, block.Statements.IndexOf(statement) + 1);
            var conditional = DiagnosticProperties.ReadDetachTargetMayBeNull(diagnostic.Properties, i) ? "?." : ".";
            changes.Add(new TextChange(new TextSpan(target.Span.End, 0), conditional + "detach()" + (keepAlive is null ? string.Empty : "." + keepAlive + "()")));
        }

        return changes.ToImmutable();
    }

    /// <summary>One <c>carrier = carrier.detach();</c> line per carrier, inserted before statement <paramref name="index"/> of <paramref name="block"/>.</summary>
    private static ImmutableArray<TextChange> Insert(SourceText text, BlockSyntax block, int index, List<(SyntaxNode Node, CarrierShape Shape)> carriers, bool justStored, DisposeScopes scopes)
    {
        var changes = ImmutableArray.CreateBuilder<TextChange>();
        foreach (var (node, shape) in carriers)
        {
            var keepAlive = scopes.KeepAliveCall([node], block, index);
            changes.Add(StatementEdits.InsertLine(text, block, index, DetachStatement(node.ToString(), shape, justStored, keepAlive)));
        }

        return changes.ToImmutable();
    }

    /// <param name="justStored">The statement follows the store of a recurrent state, so a nullable tensor is known to be non-null there.</param>
    /// <param name="keepAlive">A dispose-scope call appended to each detach, so the detached tensor outlives the scope it is created in.</param>
    private static string DetachStatement(string carrier, CarrierShape shape, bool justStored, string? keepAlive)
    {
        var detach = "detach()" + (keepAlive is null ? string.Empty : "." + keepAlive + "()");
        var arity = shape.Arity > 1 ? shape.Arity : 2;
        return shape.Shape switch
        {
            StateShape.NullableTuple => $"{carrier} = {carrier}.HasValue ? ({Elements(arity, i => $"{carrier}.Value.Item{i}.{detach}")}) : null;",
            StateShape.Tuple => $"{carrier} = ({Elements(arity, i => $"{carrier}.Item{i}.{detach}")});",
            StateShape.NullableTensor when !justStored => $"{carrier} = {carrier}?.{detach};",
            _ => $"{carrier} = {carrier}.{detach};",
        };
    }

    private static string Elements(int arity, System.Func<int, string> element) => string.Join(", ", Enumerable.Range(1, arity).Select(element));

    private static bool IsDetachStatement(StatementSyntax statement) =>
        statement is ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax assignment }
        && assignment.Right.DescendantNodesAndSelf().OfType<SimpleNameSyntax>().Any(name => name.Identifier.ValueText == "detach" && name.Parent is MemberAccessExpressionSyntax or MemberBindingExpressionSyntax);

    private static SyntaxNode? Node(SyntaxNode root, Diagnostic diagnostic, int index)
    {
        if (diagnostic.AdditionalLocations.ElementAtOrDefault(index) is not { } location || location.SourceTree != root.SyntaxTree)
        {
            return null;
        }

        var span = location.SourceSpan;
        return root.FindNode(span, getInnermostNodeForTie: true).AncestorsAndSelf().FirstOrDefault(node => node.Span == span);
    }
}
