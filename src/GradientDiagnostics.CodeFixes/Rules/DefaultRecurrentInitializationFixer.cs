using System.Collections.Generic;
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
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Simplification;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// GD0003/GD0004: inserts an explicit initialisation of the recurrent module — orthogonal <c>weight_hh*</c> (identity for a
/// ReLU RNN), Xavier <c>weight_ih*</c>, zero biases and, for LSTM, a forget-gate bias of 1 — under <c>no_grad</c>, iterating
/// <c>named_parameters()</c> so every layer and direction is covered. In a model constructor it goes after
/// <c>RegisterComponents()</c>; for a local, right after its declaration.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DefaultRecurrentInitializationFixer))]
[Shared]
public sealed class DefaultRecurrentInitializationFixer : CodeFixProvider
{
    private const string EquivalenceKey = "GD0003.InitializeRecurrentWeights";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(
        RuleIdentifiers.DefaultVanillaRnnInitialization,
        RuleIdentifiers.DefaultGatedRnnInitialization);

    public override FixAllProvider GetFixAllProvider() => new InitializationFixAll();

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var plans = await PlanAsync(context.Document, context.Diagnostics[0], context.CancellationToken).ConfigureAwait(false);
        if (plans.Count == 0)
        {
            return;
        }

        var plan = plans[0];
        context.RegisterCodeFix(
            CodeAction.Create(
                $"Initialise '{plan.ModuleName}' explicitly (orthogonal recurrent weights{(plan.Kind == InitKind.Lstm ? ", forget-gate bias 1" : string.Empty)})",
                cancellationToken => ApplyAsync(context.Document, plans, cancellationToken),
                EquivalenceKey),
            context.Diagnostics[0]);
    }

    private static async Task<Document> ApplyAsync(Document document, IReadOnlyList<InitPlan> plans, CancellationToken cancellationToken)
    {
        var editor = await DocumentEditor.CreateAsync(document, cancellationToken).ConfigureAwait(false);
        var endOfLine = editor.OriginalRoot.DescendantTrivia().FirstOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia)).ToString();
        if (endOfLine.Length == 0)
        {
            endOfLine = "\n";
        }

        foreach (var plan in plans)
        {
            var block = BuildInitBlock(plan, endOfLine, FollowedByStatement(plan.Anchor));
            switch (plan.Anchor)
            {
                case GlobalStatementSyntax global:
                    editor.InsertAfter(global, SyntaxFactory.GlobalStatement(block));
                    break;
                case StatementSyntax statement:
                    editor.InsertAfter(statement, block);
                    break;
                case ConstructorDeclarationSyntax constructor:
                    editor.ReplaceNode(constructor, (current, _) => AppendToBody((ConstructorDeclarationSyntax)current, block));
                    break;
            }
        }

        return editor.GetChangedDocument();
    }

    private static ConstructorDeclarationSyntax AppendToBody(ConstructorDeclarationSyntax constructor, StatementSyntax statement)
    {
        if (constructor.Body is { } body)
        {
            return constructor.WithBody(body.AddStatements(statement));
        }

        var existing = constructor.ExpressionBody is { } arrow
            ? new StatementSyntax[] { SyntaxFactory.ExpressionStatement(arrow.Expression) }
            : [];
        return constructor
            .WithExpressionBody(null)
            .WithSemicolonToken(default)
            .WithBody(SyntaxFactory.Block(existing.Append(statement)))
            .WithAdditionalAnnotations(Formatter.Annotation);
    }

    /// <summary>One plan per place the init block goes: usually one, one per constructor for a field initialiser. Empty when there is no safe place.</summary>
    private static async Task<IReadOnlyList<InitPlan>> PlanAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null || TorchSharpSymbols.TryCreate(model.Compilation) is not { } symbols)
        {
            return [];
        }

        var node = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
        var creationSyntax = node.AncestorsAndSelf().FirstOrDefault(n => n is InvocationExpressionSyntax or ObjectCreationExpressionSyntax);
        if (creationSyntax is null
            || model.GetOperation(creationSyntax, cancellationToken) is not { } operation
            || RecurrentModuleCreation.TryCreate(operation, symbols) is not { IsStoredDirectly: true } creation)
        {
            return [];
        }

        var kind = symbols.IsLstmModule(creation.ModuleType) ? InitKind.Lstm
            : symbols.IsVanillaRecurrentModule(creation.ModuleType) && IsRelu(operation, symbols) ? InitKind.ReluRnn
            : InitKind.Standard;

        return FindAnchors(creationSyntax, creation.Storage!, diagnostic)
            .Select(anchor => Plan(model, anchor, creation.Storage!, kind))
            .ToList();
    }

    private static InitPlan Plan(SemanticModel model, SyntaxNode anchor, ISymbol storage, InitKind kind)
    {
        var position = anchor is ConstructorDeclarationSyntax constructor ? constructor.Span.End : anchor.Span.End;
        // Locals in scope at the insertion point (including ones declared later in an enclosing block) cannot be redeclared;
        // sibling blocks, such as an init block already inserted for another module, can reuse the names.
        var moduleName = storage.Name;
        var taken = new HashSet<string>(
            model.LookupSymbols(position).Where(s => s is ILocalSymbol or IParameterSymbol or IRangeVariableSymbol).Select(s => s.Name))
        {
            moduleName,
        };

        var access = storage is IFieldSymbol or IPropertySymbol && !storage.IsStatic && ShadowedAt(model, position, storage)
            ? "this." + moduleName
            : moduleName;
        return new InitPlan(anchor, access, moduleName, kind, Unique("name", taken), Unique("parameter", taken));
    }

    private static bool ShadowedAt(SemanticModel model, int position, ISymbol storage) =>
        !model.LookupSymbols(position, name: storage.Name).Any(symbol => SymbolEqualityComparer.Default.Equals(symbol, storage));

    private static string Unique(string name, HashSet<string> taken)
    {
        var candidate = name;
        for (var i = 1; taken.Contains(candidate); i++)
        {
            candidate = name + i;
        }

        return candidate;
    }

    private static bool IsRelu(IOperation creation, TorchSharpSymbols symbols)
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
    /// Where the init block goes: after RegisterComponents() in the constructor that creates a field (else after the creating statement),
    /// after the declaration of a local; for a field initialiser, in every constructor that runs it — or, when the analyzer found
    /// that only some constructors miss the initialisation (its additional locations), in those.
    /// </summary>
    private static List<SyntaxNode> FindAnchors(SyntaxNode creationSyntax, ISymbol storage, Diagnostic diagnostic)
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
            var after = block.Statements.Skip(block.Statements.IndexOf(statement));
            return [AfterInitBlocks(RegisterComponentsStatement(after) ?? statement)];
        }

        return [AfterInitBlocks(statement)];
    }

    private static List<SyntaxNode> ConstructorAnchors(SyntaxNode creationSyntax, Diagnostic diagnostic)
    {
        var type = (TypeDeclarationSyntax?)creationSyntax.Ancestors().FirstOrDefault(n => n is TypeDeclarationSyntax);
        var constructors = type?.Members.OfType<ConstructorDeclarationSyntax>().Where(c => !c.Modifiers.Any(SyntaxKind.StaticKeyword)).ToList() ?? [];
        var flagged = diagnostic.AdditionalLocations.Where(location => location.SourceTree == creationSyntax.SyntaxTree).Select(location => location.SourceSpan).ToList();

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
            Expression: InvocationExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "RegisterComponents" } or MemberAccessExpressionSyntax { Name.Identifier.ValueText: "RegisterComponents" } }
        });

    private static bool FollowedByStatement(SyntaxNode anchor) => anchor switch
    {
        GlobalStatementSyntax global => global.Parent is CompilationUnitSyntax unit && unit.Members.IndexOf(global) + 1 < unit.Members.Count,
        StatementSyntax statement => statement.Parent is BlockSyntax block && block.Statements.IndexOf(statement) + 1 < block.Statements.Count,
        _ => false,
    };

    private static StatementSyntax BuildInitBlock(InitPlan plan, string endOfLine, bool blankLineAfter)
    {
        var name = plan.NameVariable;
        var parameter = plan.ParameterVariable;
        var recurrentInit = plan.Kind == InitKind.ReluRnn
            ? $"global::TorchSharp.torch.nn.init.eye_({parameter});"
            : $"global::TorchSharp.torch.nn.init.orthogonal_({parameter});";
        var biasBranches = plan.Kind == InitKind.Lstm
            ? $$"""
                else if ({{name}}.StartsWith("bias_ih", global::System.StringComparison.Ordinal))
                {
                    // Gate rows are i, f, g, o: starting the forget gate at b_ih + b_hh = 1 lets the cell remember by default.
                    global::TorchSharp.torch.nn.init.zeros_({{parameter}});
                    {{parameter}}[global::TorchSharp.torch.TensorIndex.Slice({{parameter}}.shape[0] / 4, {{parameter}}.shape[0] / 2)].fill_(1.0);
                }
                else if ({{name}}.StartsWith("bias", global::System.StringComparison.Ordinal))
                {
                    global::TorchSharp.torch.nn.init.zeros_({{parameter}});
                }
                """
            : $$"""
                else if ({{name}}.StartsWith("bias", global::System.StringComparison.Ordinal))
                {
                    global::TorchSharp.torch.nn.init.zeros_({{parameter}});
                }
                """;
        var text = $$"""
            using (global::TorchSharp.torch.no_grad())
            {
                foreach (var ({{name}}, {{parameter}}) in {{plan.Access}}.named_parameters())
                {
                    if ({{name}}.StartsWith("weight_hh", global::System.StringComparison.Ordinal))
                    {
                        {{recurrentInit}}
                    }
                    else if ({{name}}.StartsWith("weight_ih", global::System.StringComparison.Ordinal))
                    {
                        global::TorchSharp.torch.nn.init.xavier_uniform_({{parameter}});
                    }
            {{biasBranches}}
                }
            }
            """;
        return SyntaxFactory.ParseStatement(text.Replace("\r\n", "\n").Replace("\n", endOfLine))
            .WithLeadingTrivia(SyntaxFactory.ElasticMarker)
            .WithTrailingTrivia(blankLineAfter
                ? SyntaxFactory.TriviaList(SyntaxFactory.EndOfLine(endOfLine), SyntaxFactory.EndOfLine(endOfLine))
                : SyntaxFactory.TriviaList(SyntaxFactory.EndOfLine(endOfLine)))
            .WithAdditionalAnnotations(Formatter.Annotation, Simplifier.Annotation);
    }

    private enum InitKind
    {
        Standard,
        ReluRnn,
        Lstm,
    }

    private sealed class InitPlan
    {
        public InitPlan(SyntaxNode anchor, string access, string moduleName, InitKind kind, string nameVariable, string parameterVariable)
        {
            Anchor = anchor;
            Access = access;
            ModuleName = moduleName;
            Kind = kind;
            NameVariable = nameVariable;
            ParameterVariable = parameterVariable;
        }

        public SyntaxNode Anchor { get; }

        public string Access { get; }

        public string ModuleName { get; }

        public InitKind Kind { get; }

        public string NameVariable { get; }

        public string ParameterVariable { get; }
    }

    /// <summary>Applies every plan of a document in one edit, so that two modules initialised after the same RegisterComponents() do not conflict.</summary>
    private sealed class InitializationFixAll : DocumentBasedFixAllProvider
    {
        protected override string GetFixAllTitle(FixAllContext fixAllContext) => "Initialise every recurrent module explicitly";

        protected override async Task<Document?> FixAllAsync(FixAllContext fixAllContext, Document document, ImmutableArray<Diagnostic> diagnostics)
        {
            var plans = new List<InitPlan>();

            // Later modules first: each insertion after a shared anchor lands before the previous one, which restores source order.
            foreach (var diagnostic in diagnostics.OrderByDescending(d => d.Location.SourceSpan.Start))
            {
                plans.AddRange(await PlanAsync(document, diagnostic, fixAllContext.CancellationToken).ConfigureAwait(false));
            }

            return plans.Count == 0 ? document : await ApplyAsync(document, plans, fixAllContext.CancellationToken).ConfigureAwait(false);
        }
    }
}
