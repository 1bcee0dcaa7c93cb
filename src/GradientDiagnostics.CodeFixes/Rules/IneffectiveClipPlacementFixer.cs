using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// GD0006 fix: moves the clipping statement (with the comment lines above it) to just after backward(), re-indented.
/// Not offered when the statement would not mean the same there: a name it uses is not in scope, or the variable it
/// declares is used before its new place.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(IneffectiveClipPlacementFixer)), Shared]
public sealed class IneffectiveClipPlacementFixer : TextChangeCodeFixProvider
{

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(RuleIdentifiers.IneffectiveClipPlacement);

    private const string Title = "Move gradient clipping to just after backward()";

    protected override async Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        if (diagnostic.AdditionalLocations.Count <= DiagnosticProperties.BackwardLocation
            || await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not { } root
            || await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false) is not { } model
            || diagnostic.AdditionalLocations[DiagnosticProperties.BackwardLocation].SourceTree != root.SyntaxTree
            || StatementEdits.StandaloneStatement(root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)) is not { } clipStatement
            || StatementEdits.StandaloneStatement(root.FindNode(diagnostic.AdditionalLocations[DiagnosticProperties.BackwardLocation].SourceSpan, getInnermostNodeForTie: true)) is not { } backwardStatement)
        {
            return null;
        }

        var clipLines = StatementEdits.LineNode(clipStatement);
        var backwardLines = StatementEdits.LineNode(backwardStatement);
        var target = backwardLines.Span.End;
        if (clipLines.FullSpan.OverlapsWith(backwardLines.FullSpan) || !CanMove(clipStatement, model, target))
        {
            return null;
        }

        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        var removeStart = FirstMovedLineStart(text, clipLines);
        var removeEnd = clipLines.FullSpan.End;
        var moved = Reindent(
            text.ToString(TextSpan.FromBounds(removeStart, removeEnd)),
            StatementEdits.IndentationAt(text, clipLines.SpanStart),
            StatementEdits.IndentationAt(text, backwardLines.SpanStart));
        if (!moved.EndsWith("\n", System.StringComparison.Ordinal))
        {
            moved += StatementEdits.NewLine(text);
        }

        return new TextFix(Title, ImmutableArray.Create(
            new TextChange(TextSpan.FromBounds(removeStart, removeEnd), string.Empty),
            new TextChange(new TextSpan(backwardLines.FullSpan.End, 0), moved)));
    }

    private static bool CanMove(StatementSyntax clipStatement, SemanticModel model, int target)
    {
        switch (clipStatement)
        {
            case ExpressionStatementSyntax expressionStatement:
                return StatementEdits.MeansTheSameAt(expressionStatement.Expression, model, model, target);
            case LocalDeclarationStatementSyntax { Declaration.Variables.Count: 1 } declaration
                when declaration.Declaration.Variables[0] is { Initializer.Value: { } value } variable:
                if (!StatementEdits.MeansTheSameAt(value, model, model, target) || model.GetDeclaredSymbol(variable) is not { } local)
                {
                    return false;
                }

                // The moved declaration must still come before every use of its variable.
                var scope = clipStatement.Parent is GlobalStatementSyntax global ? global.Parent! : clipStatement.Parent!;
                return scope.DescendantNodes().OfType<IdentifierNameSyntax>()
                    .Where(identifier => identifier.Identifier.ValueText == variable.Identifier.ValueText)
                    .Where(identifier => SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(identifier).Symbol, local))
                    .All(identifier => identifier.SpanStart > target);
            default:
                return false;
        }
    }

    /// <summary>The start of the first line to move: comment lines directly above the statement travel with it, blank lines do not.</summary>
    private static int FirstMovedLineStart(SourceText text, SyntaxNode statement)
    {
        var firstLine = text.Lines.GetLineFromPosition(statement.SpanStart).LineNumber;
        var fullStartLine = text.Lines.GetLineFromPosition(statement.FullSpan.Start).LineNumber;
        while (firstLine > fullStartLine && !string.IsNullOrWhiteSpace(text.Lines[firstLine - 1].ToString()))
        {
            firstLine--;
        }

        return text.Lines[firstLine].Start;
    }

    private static string Reindent(string lines, string oldIndentation, string newIndentation)
    {
        if (oldIndentation == newIndentation)
        {
            return lines;
        }

        var builder = new StringBuilder(lines.Length);
        var atLineStart = true;
        for (var i = 0; i < lines.Length; i++)
        {
            if (atLineStart && string.CompareOrdinal(lines, i, oldIndentation, 0, oldIndentation.Length) == 0)
            {
                builder.Append(newIndentation);
                i += oldIndentation.Length - 1;
                atLineStart = false;
                continue;
            }

            builder.Append(lines[i]);
            atLineStart = lines[i] == '\n';
        }

        return builder.ToString();
    }
}
