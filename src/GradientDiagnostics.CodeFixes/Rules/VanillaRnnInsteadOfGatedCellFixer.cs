using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// GD0005: replaces <c>nn.RNN</c>/<c>nn.RNNCell</c> with <c>nn.GRU</c>/<c>nn.GRUCell</c>, drops the <c>nonLinearity</c> argument
/// (named or positional; the remaining positional arguments line up with GRU's parameters) and retypes the field, property or
/// local that holds the module. GRU has RNN's call shape, so <c>var (y, h) = rnn.call(x, h0)</c> keeps compiling.
/// The fix is offered only when the changed document has no more compile errors than before (code that calls an RNN-only
/// member such as <c>get_weight_hh(0)</c> on the module, or passes it where an RNN is required, is left alone).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(VanillaRnnInsteadOfGatedCellFixer)), Shared]
public sealed class VanillaRnnInsteadOfGatedCellFixer : TextChangeCodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIdentifiers.VanillaRnnInsteadOfGatedCell);

    protected override async Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null || TorchSharpSymbols.TryCreate(model.Compilation) is not { } symbols)
        {
            return null;
        }

        var invocation = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).AncestorsAndSelf().OfType<InvocationExpressionSyntax>().FirstOrDefault();
        if (invocation is null
            || model.GetOperation(invocation, cancellationToken) is not IInvocationOperation operation
            || RecurrentModuleCreation.TryCreate(operation, symbols) is not { } creation
            || !symbols.IsVanillaRecurrentModule(creation.ModuleType)
            || (invocation.Expression switch { MemberAccessExpressionSyntax access => access.Name, SimpleNameSyntax simple => simple, _ => null }) is not { } factoryName)
        {
            return null;
        }

        var replacement = SymbolEqualityComparer.Default.Equals(creation.ModuleType, symbols.RnnCell) ? "GRUCell" : "GRU";
        var changes = ImmutableArray.CreateBuilder<TextChange>();
        changes.Add(new TextChange(factoryName.Identifier.Span, replacement));
        if (operation.Arguments.FirstOrDefault(argument => argument.Parameter?.Name == "nonLinearity" && !argument.IsImplicit)?.Syntax is ArgumentSyntax nonLinearity
            && nonLinearity.Parent is ArgumentListSyntax list)
        {
            changes.Add(new TextChange(ArgumentSpan(list, nonLinearity), string.Empty));
        }

        if (creation.IsStoredDirectly)
        {
            foreach (var type in DeclaredTypes(creation.Storage!, cancellationToken).Where(type => type.SyntaxTree == root.SyntaxTree))
            {
                foreach (var name in type.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
                {
                    if (SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name, cancellationToken).Symbol, creation.ModuleType))
                    {
                        changes.Add(new TextChange(name.Identifier.Span, replacement));
                    }
                }
            }
        }

        var fixedChanges = changes.ToImmutable();
        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        return await CompilesAsWellAsync(document, document.WithText(text.WithChanges(fixedChanges)), cancellationToken).ConfigureAwait(false)
            ? new TextFix("Use nn." + replacement, fixedChanges)
            : null;
    }

    /// <summary>The argument with the comma that separates it from the previous one (or from the next, when it is first).</summary>
    private static TextSpan ArgumentSpan(ArgumentListSyntax list, ArgumentSyntax argument)
    {
        var index = list.Arguments.IndexOf(argument);
        if (index > 0)
        {
            return TextSpan.FromBounds(list.Arguments.GetSeparator(index - 1).SpanStart, argument.Span.End);
        }

        return list.Arguments.Count > 1 ? TextSpan.FromBounds(argument.SpanStart, list.Arguments[1].SpanStart) : argument.Span;
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

    private static async Task<bool> CompilesAsWellAsync(Document original, Document changed, CancellationToken cancellationToken)
    {
        var before = await original.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var after = await changed.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        return before is not null && after is not null && Errors(after, cancellationToken) <= Errors(before, cancellationToken);
    }

    private static int Errors(SemanticModel model, CancellationToken cancellationToken) =>
        model.GetDiagnostics(cancellationToken: cancellationToken).Count(d => d.Severity == DiagnosticSeverity.Error);
}
