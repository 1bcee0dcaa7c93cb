using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Text.RegularExpressions;
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
/// GD0011 fix: replaces the numeric literal of the threshold with the calibration file's <c>recommendedClipNorm</c>
/// (<see cref="DiagnosticProperties.MaxNorm"/>) and says where it comes from in a comment at the end of the statement's
/// line (<see cref="DiagnosticProperties.MaxNormProvenance"/>) — replacing an earlier such comment, leaving any other
/// comment of the user's alone. A threshold written as a named constant is not rewritten: the constant may serve other
/// calls, and changing its declaration is the user's decision.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ClipThresholdOutsideMeasuredNormsFixer)), Shared]
public sealed class ClipThresholdOutsideMeasuredNormsFixer : TextChangeCodeFixProvider
{
    private const string Title = "Clip at the measured threshold";

    /// <summary>A comment this fix or GD0001's wrote (<see cref="CalibrationEntry.Provenance"/>): a later calibration replaces it.</summary>
    private static readonly Regex ProvenanceComment = new(@"^//\s*(p90 of|recommended from) [\d,]+ measured steps, ", RegexOptions.CultureInvariant);

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(RuleIdentifiers.ClipThresholdOutsideMeasuredNorms);

    protected override async Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        if (DiagnosticProperties.ReadMaxNorm(diagnostic.Properties) is not { } maxNorm
            || await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not { } root
            || root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is not { } node
            || (node is ArgumentSyntax argument ? argument.Expression : node) is not LiteralExpressionSyntax { RawKind: (int)SyntaxKind.NumericLiteralExpression } literal)
        {
            return null;
        }

        var changes = ImmutableArray.Create(new TextChange(literal.Span, maxNorm));
        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        if (DiagnosticProperties.ReadMaxNormProvenance(diagnostic.Properties) is { Length: > 0 } provenance
            && literal.FirstAncestorOrSelf<StatementSyntax>() is { } statement
            && CommentChange(text, statement, "// " + provenance) is { } comment)
        {
            changes = changes.Add(comment);
        }

        return new TextFix(Title, changes);
    }

    /// <summary>
    /// Writes <paramref name="comment"/> at the end of the line the statement ends on: after the statement when nothing
    /// follows it there, in place of an earlier provenance comment; null when the line holds anything else.
    /// </summary>
    private static TextChange? CommentChange(SourceText text, StatementSyntax statement, string comment)
    {
        var end = statement.Span.End;
        var line = text.Lines.GetLineFromPosition(end);
        var rest = text.ToString(TextSpan.FromBounds(end, line.End));
        if (rest.Trim().Length == 0)
        {
            return new TextChange(TextSpan.FromBounds(end, line.End), " " + comment);
        }

        var existing = statement.GetLastToken().TrailingTrivia.FirstOrDefault(trivia => trivia.IsKind(SyntaxKind.SingleLineCommentTrivia));
        return existing.IsKind(SyntaxKind.SingleLineCommentTrivia) && ProvenanceComment.IsMatch(existing.ToString())
            ? new TextChange(existing.Span, comment)
            : null;
    }
}
