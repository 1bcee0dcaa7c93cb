using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// GD0008 fix: inserts <c>&lt;optimizer&gt;.zero_grad();</c> as the first statement of the loop body, so every iteration
/// starts from cleared gradients. When the loop calls a helper that steps, the optimizer is the one the helper's step()
/// is called on. Not offered when the optimizer is not in scope there (declared inside the loop or the helper, or a
/// helper's parameter) or the loop body is not a block.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(GradientsNeverClearedFixer)), Shared]
public sealed class GradientsNeverClearedFixer : TextChangeCodeFixProvider
{

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(RuleIdentifiers.GradientsNeverCleared);

    private const string Title = "Clear gradients at the start of each iteration";

    protected override async Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        if (diagnostic.AdditionalLocations.Count <= DiagnosticProperties.LoopLocation
            || await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not { } root
            || await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false) is not { } model
            || diagnostic.AdditionalLocations[DiagnosticProperties.LoopLocation].SourceTree != root.SyntaxTree
            || LoopBody(root.FindNode(diagnostic.AdditionalLocations[DiagnosticProperties.LoopLocation].SourceSpan, getInnermostNodeForTie: true)) is not { } body
            || await StepCallAsync(document, diagnostic, root, model, cancellationToken).ConfigureAwait(false) is not ({ } stepAccess, { } stepModel))
        {
            return null;
        }

        var position = body.OpenBraceToken.Span.End;
        if (!StatementEdits.MeansTheSameAt(stepAccess.Expression, stepModel, model, position))
        {
            return null;
        }

        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        var newLine = StatementEdits.NewLine(text);
        var line = stepAccess.Expression + ".zero_grad();";
        var braceLine = text.Lines.GetLineFromPosition(body.OpenBraceToken.Span.End);
        if (body.Statements.Count > 0 && braceLine.End == body.OpenBraceToken.Span.End && braceLine.EndIncludingLineBreak <= body.Statements[0].SpanStart)
        {
            // After the zero_grad() calls that already open the body (so clears read in the order they were added),
            // else before whatever opens it (a comment or the first statement), at the first statement's indentation.
            var cleared = LeadingGradientClears(body, model);
            var insertAt = cleared == 0
                ? braceLine.EndIncludingLineBreak
                : text.Lines.GetLineFromPosition(body.Statements[cleared - 1].Span.End).EndIncludingLineBreak;
            var indentation = StatementEdits.IndentationAt(text, body.Statements[0].SpanStart);
            return new TextFix(Title, ImmutableArray.Create(new TextChange(new TextSpan(insertAt, 0), indentation + line + newLine)));
        }

        var braceIndentation = StatementEdits.IndentationAt(text, body.OpenBraceToken.SpanStart);
        return new TextFix(Title, ImmutableArray.Create(new TextChange(new TextSpan(body.OpenBraceToken.Span.End, 0), newLine + braceIndentation + "    " + line)));
    }

    /// <summary>
    /// The optimizer's step() access and the model it binds in: the reported call, or — when the loop calls a helper that
    /// steps (<see cref="DiagnosticProperties.HelperStepLocation"/>) — the step() inside that helper, possibly in another document.
    /// </summary>
    private static async Task<(MemberAccessExpressionSyntax? Access, SemanticModel? Model)> StepCallAsync(Document document, Diagnostic diagnostic, SyntaxNode root, SemanticModel model, CancellationToken cancellationToken)
    {
        if (diagnostic.AdditionalLocations.Count <= DiagnosticProperties.HelperStepLocation)
        {
            return root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access }
                ? (access, model)
                : (null, null);
        }

        var stepLocation = diagnostic.AdditionalLocations[DiagnosticProperties.HelperStepLocation];
        var stepDocument = stepLocation.SourceTree is { } tree ? document.Project.Solution.GetDocument(tree) : null;
        if (stepDocument is null
            || await stepDocument.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not { } stepRoot
            || await stepDocument.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false) is not { } stepModel
            || stepRoot.FindNode(stepLocation.SourceSpan, getInnermostNodeForTie: true) is not InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax stepAccess })
        {
            return (null, null);
        }

        return (stepAccess, stepModel);
    }

    private static int LeadingGradientClears(BlockSyntax body, SemanticModel model)
    {
        var symbols = TorchSharpSymbols.TryCreate(model.Compilation);
        var count = 0;
        while (symbols is not null
            && count < body.Statements.Count
            && body.Statements[count] is ExpressionStatementSyntax { Expression: InvocationExpressionSyntax invocation }
            && model.GetSymbolInfo(invocation).Symbol is IMethodSymbol method
            && symbols.IsZeroGrad(method))
        {
            count++;
        }

        return count;
    }

    private static BlockSyntax? LoopBody(SyntaxNode loop) => loop switch
    {
        ForStatementSyntax { Statement: BlockSyntax block } => block,
        CommonForEachStatementSyntax { Statement: BlockSyntax block } => block,
        WhileStatementSyntax { Statement: BlockSyntax block } => block,
        DoStatementSyntax { Statement: BlockSyntax block } => block,
        _ => null,
    };
}
