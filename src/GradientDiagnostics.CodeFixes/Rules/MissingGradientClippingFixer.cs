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
/// GD0001 fix: inserts <c>torch.nn.utils.clip_grad_norm_(&lt;parameters&gt;, &lt;max norm&gt;);</c> right after backward(),
/// or after a <c>GradientWatch.Record</c> call that follows it before the step.
/// The parameters are the expression the optimizer was built from when it means the same thing at that point
/// (<c>model.parameters()</c>), otherwise the optimizer's own <c>parameters()</c>. The max norm is what the analyzer
/// handed over: the calibration file's <c>recommendedClipNorm</c> for the model, followed by a comment saying where it
/// comes from (<see cref="DiagnosticProperties.MaxNormProvenance"/>), else the configured default. The call is written
/// the shortest way that binds there (<c>torch.nn.utils.…</c>, <c>nn.utils.…</c> under <c>using static TorchSharp.torch</c>,
/// or bare under <c>using static TorchSharp.torch.nn.utils</c>); <c>using TorchSharp;</c> is added only when none does.
/// Where the compilation references GradientDiagnostics.Runtime, a second action clips with an
/// <c>AdaptiveGradientClipper</c> instead (<see cref="ComputeAlternativeFixesAsync"/>).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MissingGradientClippingFixer)), Shared]
public sealed class MissingGradientClippingFixer : TextChangeCodeFixProvider
{
    private static readonly string[] ClipPrefixes = ["torch.nn.utils.", "nn.utils.", string.Empty];

    private const string ClipperTypeName = "GradientDiagnostics.AdaptiveGradientClipper";
    private const string ClipperNamespace = "GradientDiagnostics";
    private static readonly string[] ClipperVariableNames = ["clipper", "gradientClipper", "adaptiveClipper"];

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(RuleIdentifiers.MissingGradientClipping);

    private const string Title = "Clip gradients after backward()";
    private const string AdaptiveTitle = "Clip gradients with AdaptiveGradientClipper";

    protected override async Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        if (await StepSite.FindAsync(document, diagnostic, cancellationToken).ConfigureAwait(false) is not { } site)
        {
            return null;
        }

        var position = site.ClipPosition;
        var maxNorm = DiagnosticProperties.ReadMaxNorm(diagnostic.Properties) ?? "1.0";
        var comment = DiagnosticProperties.ReadMaxNormProvenance(diagnostic.Properties) is { Length: > 0 } provenance ? " // " + provenance : string.Empty;
        foreach (var parameters in await site.ParameterCandidatesAsync(position, cancellationToken).ConfigureAwait(false))
        {
            var arguments = "(" + parameters + ", " + maxNorm + ")";
            foreach (var prefix in ClipPrefixes)
            {
                if (StatementEdits.BindsTo(site.Model, position, prefix + "clip_grad_norm_" + arguments, IsClipGradNorm))
                {
                    return new TextFix(Title, ImmutableArray.Create(StatementEdits.InsertLineAfter(site.Text, site.ClipAnchor, prefix + "clip_grad_norm_" + arguments + ";" + comment)));
                }
            }

            if (StatementEdits.BindsTo(site.Model, position, "TorchSharp.torch.nn.utils.clip_grad_norm_" + arguments, IsClipGradNorm))
            {
                return new TextFix(Title, ImmutableArray.Create(
                    AddUsing(site.Text, site.Root, "TorchSharp"),
                    StatementEdits.InsertLineAfter(site.Text, site.ClipAnchor, "torch.nn.utils.clip_grad_norm_" + arguments + ";" + comment)));
            }
        }

        return null;
    }

    /// <summary>
    /// Where GradientDiagnostics.Runtime is referenced: <c>var clipper = new AdaptiveGradientClipper(&lt;parameters&gt;);</c>
    /// once before the outermost loop of the step's function, and <c>clipper.Clip();</c> right after backward(). Offered
    /// only where the clipper can live across steps — a step inside a loop of its own function whose parameters mean the
    /// same before that loop — since a clipper created per step would forget the norms its threshold is made of.
    /// </summary>
    protected override async Task<ImmutableArray<TextFix>> ComputeAlternativeFixesAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        if (!DiagnosticProperties.ReadAdaptiveClipping(diagnostic.Properties)
            || await StepSite.FindAsync(document, diagnostic, cancellationToken).ConfigureAwait(false) is not { } site
            || site.Model.Compilation.GetTypeByMetadataName(ClipperTypeName) is not { } clipperType
            || OutermostLoop(site.Backward) is not { } loop
            || LoopInsertion(site.Text, loop) is not { } declarationAt)
        {
            return ImmutableArray<TextFix>.Empty;
        }

        var position = StatementEdits.LineNode(loop).SpanStart;
        if (FreeVariableName(site.Model, loop, site.ClipPosition) is not { } name)
        {
            return ImmutableArray<TextFix>.Empty;
        }

        // The clipper's type the shortest way that binds; `using GradientDiagnostics;` when nothing of that name is in scope.
        var typeChanges = ImmutableArray<TextChange>.Empty;
        var type = new ShortestNames(site.Model, position, cancellationToken).Type(ClipperTypeName, ClipperTypeName);
        if (type != clipperType.Name && site.Model.LookupNamespacesAndTypes(position, name: clipperType.Name).IsEmpty)
        {
            type = clipperType.Name;
            typeChanges = ImmutableArray.Create(AddUsing(site.Text, site.Root, ClipperNamespace));
        }

        foreach (var parameters in await site.ParameterCandidatesAsync(position, cancellationToken).ConfigureAwait(false))
        {
            var creation = SyntaxFactory.ParseExpression("new global::" + ClipperTypeName + "(" + parameters + ")");
            if (site.Model.GetSpeculativeSymbolInfo(position, creation, SpeculativeBindingOption.BindAsExpression).Symbol is IMethodSymbol { MethodKind: MethodKind.Constructor } constructor
                && SymbolEqualityComparer.Default.Equals(constructor.ContainingType, clipperType))
            {
                return ImmutableArray.Create(new TextFix(AdaptiveTitle, typeChanges
                    .Add(declarationAt("var " + name + " = new " + type + "(" + parameters + ");"))
                    .Add(StatementEdits.InsertLineAfter(site.Text, site.ClipAnchor, name + ".Clip();"))));
            }
        }

        return ImmutableArray<TextFix>.Empty;
    }

    /// <summary>The outermost loop around <paramref name="statement"/> inside its own method, lambda or local function.</summary>
    private static StatementSyntax? OutermostLoop(StatementSyntax statement)
    {
        StatementSyntax? loop = null;
        foreach (var ancestor in statement.Ancestors())
        {
            if (ancestor is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax or MemberDeclarationSyntax or AccessorDeclarationSyntax)
            {
                break;
            }

            if (ancestor is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax)
            {
                loop = (StatementSyntax)ancestor;
            }
        }

        return loop;
    }

    /// <summary>How to insert a line before <paramref name="loop"/>: only where it stands in a block or at top level.</summary>
    private static System.Func<string, TextChange>? LoopInsertion(SourceText text, StatementSyntax loop) => loop.Parent switch
    {
        BlockSyntax block => line => StatementEdits.InsertLine(text, block, block.Statements.IndexOf(loop), line),
        GlobalStatementSyntax global => line => StatementEdits.InsertLineBefore(text, global, line),
        _ => null,
    };

    /// <summary>A name for the clipper that no symbol visible at either end, nor any declaration in the function, already has.</summary>
    private static string? FreeVariableName(SemanticModel model, StatementSyntax loop, int clipPosition)
    {
        var function = loop.Ancestors().FirstOrDefault(a => a is MemberDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax)
            ?? loop.SyntaxTree.GetRoot();
        var declared = function.DescendantTokens().Where(token => token.IsKind(SyntaxKind.IdentifierToken)).Select(token => token.ValueText).ToImmutableHashSet();
        return ClipperVariableNames.FirstOrDefault(name => !declared.Contains(name)
            && model.LookupSymbols(loop.SpanStart, name: name).IsEmpty
            && model.LookupSymbols(clipPosition, name: name).IsEmpty);
    }

    /// <summary>The backward() statement and step() call a GD0001 diagnostic points at, in the document being fixed.</summary>
    private sealed class StepSite
    {
        private readonly Document document;
        private readonly Diagnostic diagnostic;
        private readonly MemberAccessExpressionSyntax stepAccess;

        private StepSite(Document document, Diagnostic diagnostic, CompilationUnitSyntax root, SemanticModel model, SourceText text, StatementSyntax backward, MemberAccessExpressionSyntax stepAccess)
        {
            this.document = document;
            this.diagnostic = diagnostic;
            this.stepAccess = stepAccess;
            Root = root;
            Model = model;
            Text = text;
            Backward = backward;
            ClipAnchor = LastWatchRecordBeforeStep(model, backward, stepAccess) ?? backward;
        }

        public CompilationUnitSyntax Root { get; }

        public SemanticModel Model { get; }

        public SourceText Text { get; }

        public StatementSyntax Backward { get; }

        /// <summary>
        /// The statement the clip goes after: backward(), or the last statement between it and the step that calls
        /// <c>GradientWatch.Record</c>. The watch measures the gradient before clipping, as the calibration needs; a clip
        /// put between backward() and Record would make it record the clipped norm.
        /// </summary>
        public StatementSyntax ClipAnchor { get; }

        /// <summary>The end of <see cref="ClipAnchor"/>'s line, where the clip goes.</summary>
        public int ClipPosition => StatementEdits.LineNode(ClipAnchor).Span.End;

        public static async Task<StepSite?> FindAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
        {
            if (diagnostic.AdditionalLocations.Count <= DiagnosticProperties.BackwardLocation
                || await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not CompilationUnitSyntax root
                || await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false) is not { } model)
            {
                return null;
            }

            var backwardLocation = diagnostic.AdditionalLocations[DiagnosticProperties.BackwardLocation];
            if (backwardLocation.SourceTree != root.SyntaxTree
                || StatementEdits.StandaloneStatement(root.FindNode(backwardLocation.SourceSpan, getInnermostNodeForTie: true)) is not { } backward
                || root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is not InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax stepAccess })
            {
                return null;
            }

            var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
            return new StepSite(document, diagnostic, root, model, text, backward, stepAccess);
        }

        private static StatementSyntax? LastWatchRecordBeforeStep(SemanticModel model, StatementSyntax backward, MemberAccessExpressionSyntax stepAccess)
        {
            var line = StatementEdits.LineNode(backward);
            StatementSyntax? last = null;
            foreach (var sibling in line.Parent!.ChildNodes().SkipWhile(node => node != line).Skip(1))
            {
                if (sibling.Span.Contains(stepAccess.Span))
                {
                    break;
                }

                if (sibling.DescendantNodes().OfType<InvocationExpressionSyntax>().Any(call => IsWatchRecord(model.GetSymbolInfo(call).Symbol)))
                {
                    last = sibling is GlobalStatementSyntax global ? global.Statement : sibling as StatementSyntax;
                }
            }

            return last;
        }

        private static bool IsWatchRecord(ISymbol? symbol) =>
            symbol is IMethodSymbol { Name: "Record", ContainingType: { Name: "GradientWatch", ContainingNamespace: { Name: "GradientDiagnostics", ContainingNamespace.IsGlobalNamespace: true } } };

        /// <summary>The parameter expressions that can be written at <paramref name="position"/>: the optimizer's source, then its own <c>parameters()</c>.</summary>
        public async Task<ImmutableArray<string>> ParameterCandidatesAsync(int position, CancellationToken cancellationToken)
        {
            var candidates = ImmutableArray.CreateBuilder<string>();
            if (await ParametersExpressionAsync(document, diagnostic, Model, position, cancellationToken).ConfigureAwait(false) is { } source)
            {
                candidates.Add(source);
            }

            if (StatementEdits.MeansTheSameAt(stepAccess.Expression, Model, Model, position))
            {
                candidates.Add(stepAccess.Expression + ".parameters()");
            }

            return candidates.ToImmutable();
        }
    }

    /// <summary>The optimizer's parameter expression (<see cref="DiagnosticProperties.ParametersLocation"/>) when it can be copied to <paramref name="position"/>.</summary>
    private static async Task<string?> ParametersExpressionAsync(Document document, Diagnostic diagnostic, SemanticModel model, int position, CancellationToken cancellationToken)
    {
        if (diagnostic.AdditionalLocations.Count <= DiagnosticProperties.ParametersLocation || diagnostic.AdditionalLocations[DiagnosticProperties.ParametersLocation].SourceTree is not { } tree
            || document.Project.Solution.GetDocument(tree) is not { } sourceDocument
            || await sourceDocument.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false) is not { } sourceModel
            || (await tree.GetRootAsync(cancellationToken).ConfigureAwait(false)).FindNode(diagnostic.AdditionalLocations[DiagnosticProperties.ParametersLocation].SourceSpan, getInnermostNodeForTie: true) is not { } node)
        {
            return null;
        }

        var expression = node is ArgumentSyntax argument ? argument.Expression : node as ExpressionSyntax;
        return expression is not null && StatementEdits.MeansTheSameAt(expression, sourceModel, model, position) ? expression.ToString() : null;
    }

    private static bool IsClipGradNorm(IMethodSymbol method) =>
        method.Name == "clip_grad_norm_" && method.ContainingType?.ToDisplayString() == "TorchSharp.torch.nn.utils";

    /// <summary>Adds <c>using &lt;namespace&gt;;</c> among the file's using directives, in sorted position, keeping the newline style.</summary>
    private static TextChange AddUsing(SourceText text, CompilationUnitSyntax root, string name)
    {
        var newLine = StatementEdits.NewLine(text);
        var directive = "using " + name + ";";
        var usings = root.Usings.Where(u => u.StaticKeyword.IsKind(SyntaxKind.None) && u.Alias is null).ToList();
        var following = usings.FirstOrDefault(u => IsSortedAfter(u.Name?.ToString(), name));
        if (following is not null)
        {
            return new TextChange(new TextSpan(following.SpanStart, 0), directive + newLine);
        }

        var last = root.Usings.LastOrDefault();
        return last is not null
            ? new TextChange(new TextSpan(last.FullSpan.End, 0), directive + newLine)
            : new TextChange(new TextSpan(root.FullSpan.Start, 0), directive + newLine + newLine);
    }

    private static bool IsSortedAfter(string? name, string candidate) =>
        name is not null && !name.StartsWith("System", System.StringComparison.Ordinal) && string.CompareOrdinal(name, candidate) > 0;
}
