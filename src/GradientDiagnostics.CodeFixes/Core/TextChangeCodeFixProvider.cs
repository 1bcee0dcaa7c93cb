using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// The one way every GradientDiagnostics fix edits code: as text changes against the original document, computed from
/// what the analyzer handed over (<see cref="DiagnosticProperties"/>), so the user's formatting — blank lines, comments,
/// trivia — survives untouched around the inserted or moved lines. Fix All computes every diagnostic's changes against
/// the same original text and applies them together: insertions at the same point are kept in diagnostic order
/// (identical ones once), and a fix whose changes overlap an already accepted one is left for the next pass.
/// </summary>
public abstract class TextChangeCodeFixProvider : CodeFixProvider
{
    /// <summary>The title of the fix for <paramref name="diagnostic"/>; Fix All groups fixes by the provider, not by title.</summary>
    protected abstract string Title(Diagnostic diagnostic);

    /// <summary>The changes that fix <paramref name="diagnostic"/>, or empty when no safe fix exists.</summary>
    protected abstract Task<ImmutableArray<TextChange>> ComputeChangesAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken);

    public sealed override FixAllProvider GetFixAllProvider() => new FixAll(this);

    public sealed override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            var changes = await ComputeChangesAsync(context.Document, diagnostic, context.CancellationToken).ConfigureAwait(false);
            if (changes.IsDefaultOrEmpty)
            {
                continue;
            }

            var document = context.Document;
            context.RegisterCodeFix(
                CodeAction.Create(
                    Title(diagnostic),
                    async cancellationToken => document.WithText((await document.GetTextAsync(cancellationToken).ConfigureAwait(false)).WithChanges(changes)),
                    equivalenceKey: GetType().Name),
                diagnostic);
        }
    }

    private sealed class FixAll : DocumentBasedFixAllProvider
    {
        private readonly TextChangeCodeFixProvider provider;

        public FixAll(TextChangeCodeFixProvider provider)
        {
            this.provider = provider;
        }

        protected override async Task<Document?> FixAllAsync(FixAllContext fixAllContext, Document document, ImmutableArray<Diagnostic> diagnostics)
        {
            var accepted = new List<TextChange>();
            foreach (var diagnostic in diagnostics.OrderBy(d => d.Location.SourceSpan.Start))
            {
                var changes = await provider.ComputeChangesAsync(document, diagnostic, fixAllContext.CancellationToken).ConfigureAwait(false);
                if (changes.IsDefaultOrEmpty || changes.Any(change => accepted.Any(other => Overlaps(change, other))))
                {
                    continue;
                }

                accepted.AddRange(changes.Where(change => !accepted.Contains(change)));
            }

            if (accepted.Count == 0)
            {
                return document;
            }

            var merged = accepted
                .Select((change, order) => (change, order))
                .GroupBy(item => item.change.Span)
                .OrderBy(group => group.Key.Start)
                .Select(group => new TextChange(group.Key, string.Concat(group.OrderBy(item => item.order).Select(item => item.change.NewText))));
            var text = await document.GetTextAsync(fixAllContext.CancellationToken).ConfigureAwait(false);
            return document.WithText(text.WithChanges(merged));
        }

        /// <summary>Two changes conflict when they replace overlapping text or one inserts inside text the other replaces.</summary>
        private static bool Overlaps(TextChange change, TextChange other)
        {
            if (change.Span.Length == 0 && other.Span.Length == 0)
            {
                return false;
            }

            if (change.Span.Length == 0 || other.Span.Length == 0)
            {
                var (insertion, replaced) = change.Span.Length == 0 ? (change.Span, other.Span) : (other.Span, change.Span);
                return insertion.Start > replaced.Start && insertion.Start < replaced.End;
            }

            return change.Span.OverlapsWith(other.Span) || change.Span == other.Span;
        }
    }
}
