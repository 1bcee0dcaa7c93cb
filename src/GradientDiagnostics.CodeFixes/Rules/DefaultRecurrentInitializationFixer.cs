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
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// GD0003/GD0004: inserts an explicit initialisation of the recurrent module — orthogonal <c>weight_hh*</c> (identity for a
/// ReLU RNN), Xavier <c>weight_ih*</c>, zero biases and, for LSTM, a forget-gate bias of 1 — under <c>no_grad</c>, iterating
/// <c>named_parameters()</c> so every layer and direction is covered. In a model constructor it goes after
/// <c>RegisterComponents()</c> (after init blocks already there); for a local, right after its declaration; for a field
/// initialiser, in each constructor the analyzer points at (its additional locations) or else every one that runs it.
/// Names are written the shortest way that binds at the insertion point (<see cref="ShortestNames"/>).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DefaultRecurrentInitializationFixer)), Shared]
public sealed class DefaultRecurrentInitializationFixer : TextChangeCodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(
        RuleIdentifiers.DefaultVanillaRnnInitialization,
        RuleIdentifiers.DefaultGatedRnnInitialization);

    private enum InitKind
    {
        Standard,
        ReluRnn,
        Lstm,
    }

    protected override string InsertionSeparator(SourceText text) => StatementEdits.NewLine(text);

    protected override async Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null || TorchSharpSymbols.TryCreate(model.Compilation) is not { } symbols)
        {
            return null;
        }

        var creationSyntax = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)
            .AncestorsAndSelf().FirstOrDefault(n => n is InvocationExpressionSyntax or ObjectCreationExpressionSyntax);
        if (creationSyntax is null
            || model.GetOperation(creationSyntax, cancellationToken) is not { } operation
            || RecurrentModuleCreation.TryCreate(operation, symbols) is not { IsStoredDirectly: true } creation)
        {
            return null;
        }

        var kind = symbols.IsLstmModule(creation.ModuleType) ? InitKind.Lstm
            : symbols.IsVanillaRecurrentModule(creation.ModuleType) && IsRelu(operation) ? InitKind.ReluRnn
            : InitKind.Standard;
        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        var changes = ImmutableArray.CreateBuilder<TextChange>();
        foreach (var anchor in Anchors(creationSyntax, creation.Storage!, diagnostic))
        {
            if (Insertion(text, model, anchor, creation.Storage!, kind, cancellationToken) is not { } change)
            {
                return null;
            }

            changes.Add(change);
        }

        var title = $"Initialise '{creation.Storage!.Name}' explicitly (orthogonal recurrent weights{(kind == InitKind.Lstm ? ", forget-gate bias 1" : string.Empty)})";
        return changes.Count == 0 ? null : new TextFix(title, changes.ToImmutable());
    }

    private static bool IsRelu(IOperation creation)
    {
        var arguments = creation switch
        {
            IInvocationOperation invocation => invocation.Arguments,
            IObjectCreationOperation objectCreation => objectCreation.Arguments,
            _ => ImmutableArray<IArgumentOperation>.Empty,
        };
        var nonLinearity = arguments.FirstOrDefault(argument => argument.Parameter?.Name == "nonLinearity");
        if (nonLinearity?.Value.ConstantValue is not { HasValue: true } value || nonLinearity.Parameter!.Type is not INamedTypeSymbol enumType)
        {
            return false;
        }

        var relu = enumType.GetMembers("ReLU").OfType<IFieldSymbol>().FirstOrDefault();
        return relu is { HasConstantValue: true } && Equals(relu.ConstantValue, value.Value);
    }

    /// <summary>
    /// Where the init block goes: after RegisterComponents() in the constructor that creates a field (else after the creating
    /// statement), after the declaration of a local; for a field initialiser, in every constructor that runs it — or, when
    /// the analyzer found that only some constructors miss the initialisation (its additional locations), in those. A
    /// constructor anchor means "at the end of its body".
    /// </summary>
    private static List<SyntaxNode> Anchors(SyntaxNode creationSyntax, ISymbol storage, Diagnostic diagnostic)
    {
        if (creationSyntax.Parent is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent.Parent: FieldDeclarationSyntax } }
            || creationSyntax.Parent is EqualsValueClauseSyntax { Parent: PropertyDeclarationSyntax })
        {
            return ConstructorAnchors(creationSyntax, diagnostic);
        }

        var statement = creationSyntax.Ancestors().OfType<StatementSyntax>().FirstOrDefault();
        if (statement?.Parent is GlobalStatementSyntax global)
        {
            return [global];
        }

        if (statement?.Parent is not BlockSyntax block)
        {
            return [];
        }

        if (storage is IFieldSymbol or IPropertySymbol && block.Parent is ConstructorDeclarationSyntax)
        {
            return [AfterInitBlocks(RegisterComponentsStatement(block.Statements.Skip(block.Statements.IndexOf(statement))) ?? statement)];
        }

        return [AfterInitBlocks(statement)];
    }

    private static List<SyntaxNode> ConstructorAnchors(SyntaxNode creationSyntax, Diagnostic diagnostic)
    {
        var type = creationSyntax.Ancestors().OfType<TypeDeclarationSyntax>().FirstOrDefault();
        var constructors = type?.Members.OfType<ConstructorDeclarationSyntax>().Where(c => !c.Modifiers.Any(SyntaxKind.StaticKeyword)).ToList() ?? [];
        var flagged = diagnostic.AdditionalLocations.Skip(DiagnosticProperties.FirstConstructorLocation).Where(location => location.SourceTree == creationSyntax.SyntaxTree).Select(location => location.SourceSpan).ToList();

        // Field initialisers run in every constructor that does not chain to another with this(...).
        var targets = flagged.Count > 0
            ? constructors.Where(constructor => flagged.Contains(constructor.Identifier.Span)).ToList()
            : constructors.Where(constructor => constructor.Initializer?.ThisOrBaseKeyword.IsKind(SyntaxKind.ThisKeyword) != true).ToList();

        // No declared constructor, or one without a body to add to: there is no safe place, so no fix.
        if (targets.Count == 0 || targets.Any(constructor => constructor.Body is null && constructor.ExpressionBody is null))
        {
            return [];
        }

        return targets
            .Select(constructor => constructor.Body is { } body && RegisterComponentsStatement(body.Statements) is { } register
                ? AfterInitBlocks(register)
                : (SyntaxNode)constructor)
            .ToList();
    }

    /// <summary>Moves past init blocks already inserted after the anchor, so modules are initialised in the order they are created.</summary>
    private static StatementSyntax AfterInitBlocks(StatementSyntax anchor)
    {
        if (anchor.Parent is not BlockSyntax block)
        {
            return anchor;
        }

        var index = block.Statements.IndexOf(anchor);
        while (index + 1 < block.Statements.Count && IsNoGradBlock(block.Statements[index + 1]))
        {
            index++;
        }

        return block.Statements[index];
    }

    private static bool IsNoGradBlock(StatementSyntax statement) =>
        statement is UsingStatementSyntax
        {
            Expression: InvocationExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "no_grad" } or MemberAccessExpressionSyntax { Name.Identifier.ValueText: "no_grad" } },
        };

    private static StatementSyntax? RegisterComponentsStatement(IEnumerable<StatementSyntax> statements) =>
        statements.FirstOrDefault(s => s is ExpressionStatementSyntax
        {
            Expression: InvocationExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "RegisterComponents" } or MemberAccessExpressionSyntax { Name.Identifier.ValueText: "RegisterComponents" } },
        });

    /// <summary>The text change that puts the init block at <paramref name="anchor"/>.</summary>
    private static TextChange? Insertion(SourceText text, SemanticModel model, SyntaxNode anchor, ISymbol storage, InitKind kind, CancellationToken cancellationToken)
    {
        var newLine = StatementEdits.NewLine(text);
        switch (anchor)
        {
            case GlobalStatementSyntax global:
            {
                var indentation = StatementEdits.IndentationAt(text, global.SpanStart);
                var followed = global.Parent is CompilationUnitSyntax unit && unit.Members.IndexOf(global) + 1 < unit.Members.Count;
                var block = InitBlock(model, global.Span.End, storage, kind, indentation, newLine, cancellationToken);
                return After(text, global, newLine + block + (followed ? newLine : string.Empty));
            }

            case StatementSyntax statement when statement.Parent is BlockSyntax parent:
            {
                var indentation = StatementEdits.IndentationAt(text, statement.SpanStart);
                var followed = parent.Statements.IndexOf(statement) + 1 < parent.Statements.Count;
                var block = InitBlock(model, statement.Span.End, storage, kind, indentation, newLine, cancellationToken);
                return After(text, statement, (IsNoGradBlock(statement) ? newLine : string.Empty) + block + (followed ? newLine : string.Empty));
            }

            case ConstructorDeclarationSyntax { Body: { } body }:
            {
                var indentation = StatementEdits.IndentationAt(text, body.OpenBraceToken.SpanStart) + "    ";
                var block = InitBlock(model, body.CloseBraceToken.SpanStart, storage, kind, indentation, newLine, cancellationToken);
                return body.Statements.Count > 0
                    ? After(text, body.Statements.Last(), block)
                    : new TextChange(new TextSpan(body.OpenBraceToken.Span.End, 0), newLine + block.TrimEnd('\r', '\n'));
            }

            case ConstructorDeclarationSyntax { ExpressionBody: { } arrow } constructor:
            {
                // `=> RegisterComponents();` becomes a block body holding the expression and the init block.
                var braceIndentation = StatementEdits.IndentationAt(text, constructor.SpanStart);
                var indentation = braceIndentation + "    ";
                var block = InitBlock(model, arrow.Expression.Span.End, storage, kind, indentation, newLine, cancellationToken);
                var start = constructor.Initializer?.Span.End ?? constructor.ParameterList.Span.End;
                return new TextChange(
                    TextSpan.FromBounds(start, constructor.SemicolonToken.Span.End),
                    newLine + braceIndentation + "{" + newLine + indentation + arrow.Expression + ";" + newLine + block + braceIndentation + "}");
            }

            default:
                return null;
        }
    }

    /// <summary>Inserts lines right after the line <paramref name="node"/> ends on.</summary>
    private static TextChange After(SourceText text, SyntaxNode node, string lines)
    {
        var line = text.Lines.GetLineFromPosition(node.Span.End);
        return line.EndIncludingLineBreak > line.End
            ? new TextChange(new TextSpan(line.EndIncludingLineBreak, 0), lines)
            : new TextChange(new TextSpan(line.End, 0), StatementEdits.NewLine(text) + lines.TrimEnd('\r', '\n'));
    }

    /// <summary>The init block, each line indented by <paramref name="indentation"/> and ended by <paramref name="newLine"/>.</summary>
    private static string InitBlock(SemanticModel model, int position, ISymbol storage, InitKind kind, string indentation, string newLine, CancellationToken cancellationToken)
    {
        var names = new ShortestNames(model, position, cancellationToken);
        var taken = new HashSet<string>(model.LookupSymbols(position).Where(s => s is ILocalSymbol or IParameterSymbol or IRangeVariableSymbol).Select(s => s.Name)) { storage.Name };
        var name = Unique("name", taken);
        var parameter = Unique("parameter", taken);
        var access = storage is IFieldSymbol or IPropertySymbol && !storage.IsStatic
            && !model.LookupSymbols(position, name: storage.Name).Any(symbol => SymbolEqualityComparer.Default.Equals(symbol, storage))
            ? "this." + storage.Name
            : storage.Name;
        var init = names.Type("TorchSharp.torch+nn+init", "TorchSharp.torch.nn.init");
        var ordinal = names.Type("System.StringComparison", "System.StringComparison") + ".Ordinal";
        var lines = new List<string>
        {
            $"using ({names.StaticMethod("TorchSharp.torch", "TorchSharp.torch", "no_grad")}())",
            "{",
            $"    foreach (var ({name}, {parameter}) in {access}.named_parameters())",
            "    {",
            $"        if ({name}.StartsWith(\"weight_hh\", {ordinal}))",
            "        {",
            $"            {init}.{(kind == InitKind.ReluRnn ? "eye_" : "orthogonal_")}({parameter});",
            "        }",
            $"        else if ({name}.StartsWith(\"weight_ih\", {ordinal}))",
            "        {",
            $"            {init}.xavier_uniform_({parameter});",
            "        }",
        };
        if (kind == InitKind.Lstm)
        {
            var slice = names.Type("TorchSharp.torch+TensorIndex", "TorchSharp.torch.TensorIndex") + ".Slice";
            lines.AddRange([
                $"        else if ({name}.StartsWith(\"bias_ih\", {ordinal}))",
                "        {",
                "            // Gate rows are i, f, g, o: starting the forget gate at b_ih + b_hh = 1 lets the cell remember by default.",
                $"            {init}.zeros_({parameter});",
                $"            {parameter}[{slice}({parameter}.shape[0] / 4, {parameter}.shape[0] / 2)].fill_(1.0);",
                "        }",
            ]);
        }

        lines.AddRange([
            $"        else if ({name}.StartsWith(\"bias\", {ordinal}))",
            "        {",
            $"            {init}.zeros_({parameter});",
            "        }",
            "    }",
            "}",
        ]);
        return string.Concat(lines.Select(line => indentation + line + newLine));
    }

    private static string Unique(string name, HashSet<string> taken)
    {
        var candidate = name;
        for (var i = 1; taken.Contains(candidate); i++)
        {
            candidate = name + i;
        }

        return candidate;
    }
}
