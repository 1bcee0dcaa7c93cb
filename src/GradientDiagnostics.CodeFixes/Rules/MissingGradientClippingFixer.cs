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
/// GD0001 fix: inserts <c>torch.nn.utils.clip_grad_norm_(&lt;parameters&gt;, &lt;max norm&gt;);</c> right after backward().
/// The parameters are the expression the optimizer was built from when it means the same thing at that point
/// (<c>model.parameters()</c>), otherwise the optimizer's own <c>parameters()</c>. The call is written the shortest way that binds
/// there (<c>torch.nn.utils.…</c>, <c>nn.utils.…</c> under <c>using static TorchSharp.torch</c>, or bare under
/// <c>using static TorchSharp.torch.nn.utils</c>); <c>using TorchSharp;</c> is added only when none does.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MissingGradientClippingFixer)), Shared]
public sealed class MissingGradientClippingFixer : TextChangeCodeFixProvider
{
    private static readonly string[] ClipPrefixes = ["torch.nn.utils.", "nn.utils.", string.Empty];

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(RuleIdentifiers.MissingGradientClipping);

    private const string Title = "Clip gradients after backward()";

    protected override async Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        if (diagnostic.AdditionalLocations.Count <= DiagnosticProperties.BackwardLocation
            || await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not CompilationUnitSyntax root
            || await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false) is not { } model)
        {
            return null;
        }

        var backwardLocation = diagnostic.AdditionalLocations[DiagnosticProperties.BackwardLocation];
        if (backwardLocation.SourceTree != root.SyntaxTree
            || StatementEdits.StandaloneStatement(root.FindNode(backwardLocation.SourceSpan, getInnermostNodeForTie: true)) is not { } backwardStatement
            || root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is not InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax stepAccess })
        {
            return null;
        }

        var position = StatementEdits.LineNode(backwardStatement).Span.End;
        var candidates = new[]
        {
            await ParametersExpressionAsync(document, diagnostic, model, position, cancellationToken).ConfigureAwait(false),
            StatementEdits.MeansTheSameAt(stepAccess.Expression, model, model, position) ? stepAccess.Expression + ".parameters()" : null,
        };
        var maxNorm = DiagnosticProperties.ReadMaxNorm(diagnostic.Properties) ?? "1.0";
        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        foreach (var parameters in candidates)
        {
            if (parameters is null)
            {
                continue;
            }

            var arguments = "(" + parameters + ", " + maxNorm + ")";
            foreach (var prefix in ClipPrefixes)
            {
                if (StatementEdits.BindsTo(model, position, prefix + "clip_grad_norm_" + arguments, IsClipGradNorm))
                {
                    return new TextFix(Title, ImmutableArray.Create(StatementEdits.InsertLineAfter(text, backwardStatement, prefix + "clip_grad_norm_" + arguments + ";")));
                }
            }

            if (StatementEdits.BindsTo(model, position, "TorchSharp.torch.nn.utils.clip_grad_norm_" + arguments, IsClipGradNorm))
            {
                return new TextFix(Title, ImmutableArray.Create(
                    AddTorchSharpUsing(text, root),
                    StatementEdits.InsertLineAfter(text, backwardStatement, "torch.nn.utils.clip_grad_norm_" + arguments + ";")));
            }
        }

        return null;
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

    /// <summary>Adds <c>using TorchSharp;</c> among the file's using directives, in sorted position, keeping the newline style.</summary>
    private static TextChange AddTorchSharpUsing(SourceText text, CompilationUnitSyntax root)
    {
        var newLine = StatementEdits.NewLine(text);
        var usings = root.Usings.Where(u => u.StaticKeyword.IsKind(SyntaxKind.None) && u.Alias is null).ToList();
        var following = usings.FirstOrDefault(u => IsSortedAfter(u.Name?.ToString(), "TorchSharp"));
        if (following is not null)
        {
            return new TextChange(new TextSpan(following.SpanStart, 0), "using TorchSharp;" + newLine);
        }

        var last = root.Usings.LastOrDefault();
        return last is not null
            ? new TextChange(new TextSpan(last.FullSpan.End, 0), "using TorchSharp;" + newLine)
            : new TextChange(new TextSpan(root.FullSpan.Start, 0), "using TorchSharp;" + newLine + newLine);
    }

    private static bool IsSortedAfter(string? name, string candidate) =>
        name is not null && !name.StartsWith("System", System.StringComparison.Ordinal) && string.CompareOrdinal(name, candidate) > 0;
}
