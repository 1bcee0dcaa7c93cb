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
/// (identical ones once), and a fix whose changes overlap an already accepted one is left for the next pass. A rule may
/// offer alternative fixes beside its own (<see cref="ComputeAlternativeFixesAsync"/>): they are code actions of their own,
/// applied one diagnostic at a time, never by Fix All (their equivalence key is null).
/// </summary>
public abstract class TextChangeCodeFixProvider : CodeFixProvider
{
    /// <summary>What separates two insertions at the same point made by Fix All (two init blocks after one statement are two paragraphs).</summary>
    protected virtual string InsertionSeparator(SourceText text) => string.Empty;

    /// <summary>The fix of <paramref name="diagnostic"/>, or null when no safe fix exists.</summary>
    protected abstract Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken);

    /// <summary>Other ways to fix <paramref name="diagnostic"/>, offered after the rule's own fix, one diagnostic at a time.</summary>
    protected virtual Task<ImmutableArray<TextFix>> ComputeAlternativeFixesAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken) =>
        Task.FromResult(ImmutableArray<TextFix>.Empty);

    public sealed override FixAllProvider GetFixAllProvider() => new FixAll(this);

    public sealed override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            var fix = await ComputeFixAsync(context.Document, diagnostic, context.CancellationToken).ConfigureAwait(false);
            Register(context, diagnostic, fix, GetType().Name);
            foreach (var alternative in await ComputeAlternativeFixesAsync(context.Document, diagnostic, context.CancellationToken).ConfigureAwait(false))
            {
                Register(context, diagnostic, alternative, equivalenceKey: null);
            }
        }
    }

    private static void Register(CodeFixContext context, Diagnostic diagnostic, TextFix? fix, string? equivalenceKey)
    {
        if (fix is not { Changes.IsDefaultOrEmpty: false })
        {
            return;
        }

        var document = context.Document;
        var changes = fix.Changes;
        context.RegisterCodeFix(
            CodeAction.Create(
                fix.Title,
                async cancellationToken => document.WithText((await document.GetTextAsync(cancellationToken).ConfigureAwait(false)).WithChanges(changes)),
                equivalenceKey),
            diagnostic);
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
                var changes = (await provider.ComputeFixAsync(document, diagnostic, fixAllContext.CancellationToken).ConfigureAwait(false))?.Changes ?? default;
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

            var text = await document.GetTextAsync(fixAllContext.CancellationToken).ConfigureAwait(false);
            var separator = provider.InsertionSeparator(text);
            var merged = accepted
                .Select((change, order) => (change, order))
                .GroupBy(item => item.change.Span)
                .OrderBy(group => group.Key.Start)
                .Select(group => new TextChange(group.Key, string.Join(group.Key.Length == 0 ? separator : string.Empty, group.OrderBy(item => item.order).Select(item => item.change.NewText))));
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

/// <summary>A fix: the title of its code action and its text changes against the original document.</summary>
public sealed class TextFix
{
    public TextFix(string title, ImmutableArray<TextChange> changes)
    {
        Title = title;
        Changes = changes;
    }

    public string Title { get; }

    public ImmutableArray<TextChange> Changes { get; }
}
