using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// GD0005: replaces <c>nn.RNN</c>/<c>nn.RNNCell</c> with <c>nn.GRU</c>/<c>nn.GRUCell</c>, drops the <c>nonLinearity</c> argument
/// (named or positional; the remaining positional arguments line up with GRU's parameters) and retypes the field, property or
/// local that holds the module. GRU has RNN's call shape, so <c>var (y, h) = rnn.call(x, h0)</c> keeps compiling.
/// The fix is offered only when the changed document has no more compile errors than before (code that calls an RNN-only
/// member such as <c>get_weight_hh(0)</c> on the module, or passes it where an RNN is required, is left alone).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(VanillaRnnInsteadOfGatedCellFixer))]
[Shared]
public sealed class VanillaRnnInsteadOfGatedCellFixer : CodeFixProvider
{
    private const string EquivalenceKey = "GD0005.ReplaceWithGru";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIdentifiers.VanillaRnnInsteadOfGatedCell);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var diagnostic = context.Diagnostics[0];
        var changed = await ReplaceAsync(context.Document, diagnostic, context.CancellationToken).ConfigureAwait(false);
        if (changed is null || !await CompilesAsWellAsync(context.Document, changed.Value.Document, context.CancellationToken).ConfigureAwait(false))
        {
            return;
        }

        context.RegisterCodeFix(
            CodeAction.Create($"Use nn.{changed.Value.Replacement}", _ => Task.FromResult(changed.Value.Document), EquivalenceKey),
            diagnostic);
    }

    private static async Task<(Document Document, string Replacement)?> ReplaceAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null || TorchSharpSymbols.TryCreate(model.Compilation) is not { } symbols)
        {
            return null;
        }

        var invocation = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)
            .AncestorsAndSelf().OfType<InvocationExpressionSyntax>().FirstOrDefault();
        if (invocation is null
            || model.GetOperation(invocation, cancellationToken) is not IInvocationOperation operation
            || RecurrentModuleCreation.TryCreate(operation, symbols) is not { } creation
            || !symbols.IsVanillaRecurrentModule(creation.ModuleType))
        {
            return null;
        }

        var isCell = SymbolEqualityComparer.Default.Equals(creation.ModuleType, symbols.RnnCell);
        var replacement = isCell ? "GRUCell" : "GRU";
        var factoryName = invocation.Expression switch
        {
            MemberAccessExpressionSyntax memberAccess => memberAccess.Name,
            SimpleNameSyntax simple => simple,
            _ => null,
        };
        if (factoryName is null)
        {
            return null;
        }

        var editor = await DocumentEditor.CreateAsync(document, cancellationToken).ConfigureAwait(false);
        editor.ReplaceNode(factoryName, SyntaxFactory.IdentifierName(replacement).WithTriviaFrom(factoryName));

        var nonLinearity = operation.Arguments.FirstOrDefault(argument => argument.Parameter?.Name == "nonLinearity" && !argument.IsImplicit);
        if (nonLinearity?.Syntax is ArgumentSyntax argumentSyntax)
        {
            editor.RemoveNode(argumentSyntax, SyntaxRemoveOptions.KeepNoTrivia);
        }

        if (creation.IsStoredDirectly)
        {
            foreach (var typeSyntax in DeclaredTypes(creation.Storage!, cancellationToken))
            {
                RetypeTo(editor, model, typeSyntax, creation.ModuleType, replacement, cancellationToken);
            }
        }

        return (editor.GetChangedDocument(), replacement);
    }

    /// <summary>The type syntax of the field (when it declares only this variable), property or explicitly typed local holding the module.</summary>
    private static ImmutableArray<TypeSyntax> DeclaredTypes(ISymbol storage, CancellationToken cancellationToken)
    {
        var types = ImmutableArray.CreateBuilder<TypeSyntax>();
        foreach (var reference in storage.DeclaringSyntaxReferences)
        {
            switch (reference.GetSyntax(cancellationToken))
            {
                case VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: 1, Type: { IsVar: false } type } }:
                    types.Add(type);
                    break;
                case PropertyDeclarationSyntax property:
                    types.Add(property.Type);
                    break;
            }
        }

        return types.ToImmutable();
    }

    private static void RetypeTo(DocumentEditor editor, SemanticModel model, TypeSyntax typeSyntax, INamedTypeSymbol vanilla, string replacement, CancellationToken cancellationToken)
    {
        if (typeSyntax.SyntaxTree != model.SyntaxTree)
        {
            return;
        }

        foreach (var name in typeSyntax.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
        {
            if (SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name, cancellationToken).Symbol, vanilla))
            {
                editor.ReplaceNode(name, SyntaxFactory.IdentifierName(replacement).WithTriviaFrom(name));
            }
        }
    }

    private static async Task<bool> CompilesAsWellAsync(Document original, Document changed, CancellationToken cancellationToken)
    {
        var before = await original.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var after = await changed.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (before is null || after is null)
        {
            return false;
        }

        static int Errors(SemanticModel model, CancellationToken token) =>
            model.GetDiagnostics(cancellationToken: token).Count(d => d.Severity == DiagnosticSeverity.Error);

        return Errors(after, cancellationToken) <= Errors(before, cancellationToken);
    }
}
