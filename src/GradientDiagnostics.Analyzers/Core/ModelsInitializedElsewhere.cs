using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Answers "is this model type initialised or loaded from outside the type": <c>var model = new Seq2Seq(); model.apply(Init.Weights);</c>
/// or <c>model.load(path)</c> in a training script, directly or through source helpers. Initialisation through <c>this</c> is not
/// collected here: inside the type the constructor judgement applies.
/// </summary>
/// <remarks>
/// Binding is what costs, so two syntax filters decide what gets bound, and only when a model needs the answer:
/// <list type="bullet">
/// <item>Files: only those whose text holds the model type's name as a word, or the name of a member whose declared type mentions it
/// (<c>var model = Models.Create();</c> with <c>static Seq2Seq Create()</c>, a field or property of another part of a partial type, a
/// using alias). An expression of the model type gets that type from a creation, cast, declaration or member that names it, so its file
/// names it or such a member. The gap: a member whose declared type reaches the model only through another declared type
/// (<c>class Fleet : List&lt;Seq2Seq&gt;</c>, <c>Fleet Load()</c>, <c>foreach (var model in Load())</c>); such a model stays reported,
/// a false positive rather than a silently missed warning.</item>
/// <item>Members of those files: only bodies whose syntax calls something that could initialise or load (a name ending in <c>_</c>, a load
/// method, <c>apply</c>, the last segment of a configured init method, or assigns a <c>weight</c>/<c>bias</c> member), or that call, by
/// name, a member that does so within the depth the search follows calls. A configured init method whose last segment has a wildcard
/// turns the member filter off.</item>
/// </list>
/// Results are cached per file and per effective <c>init_methods</c> value (that of the file creating the module), so per-folder
/// settings give the same answer whichever model is judged first.
/// </remarks>
internal sealed class ModelsInitializedElsewhere
{
    /// <summary>How many calls deep helpers are followed from each method (fewer than for one type, to bound the cost).</summary>
    private const int MaxDepth = 2;

    private readonly TorchSharpSymbols symbols;
    private readonly SourceBodies bodies;
    private readonly ModuleParameterOwnership ownership;
    private readonly Lazy<SyntaxIndex> index;
    private readonly ConcurrentDictionary<string, CandidateFilter> filters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(SyntaxTree Tree, string Options), ImmutableHashSet<INamedTypeSymbol>> collected = new();

    public ModelsInitializedElsewhere(Compilation compilation, TorchSharpSymbols symbols, SourceBodies bodies, ModuleParameterOwnership ownership)
    {
        this.symbols = symbols;
        this.bodies = bodies;
        this.ownership = ownership;
        index = new Lazy<SyntaxIndex>(() => SyntaxIndex.Build(compilation), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public bool Contains(INamedTypeSymbol model, ImmutableArray<string> initMethods, CancellationToken cancellationToken)
    {
        var definition = model.OriginalDefinition;
        var key = initMethods.IsDefaultOrEmpty ? string.Empty : string.Join("\n", initMethods);
        var syntax = index.Value;
        var filter = filters.GetOrAdd(key, _ => new CandidateFilter(syntax, initMethods));
        foreach (var tree in syntax.TreesReferring(definition.Name, cancellationToken))
        {
            var found = collected.GetOrAdd((tree, key), entry => Collect(entry.Tree, filter, initMethods, cancellationToken));
            if (found.Contains(definition))
            {
                return true;
            }
        }

        return false;
    }

    internal static ITypeSymbol? TypeOf(ISymbol symbol) => symbol switch
    {
        ILocalSymbol local => local.Type,
        IParameterSymbol parameter => parameter.Type,
        IFieldSymbol field => field.Type,
        IPropertySymbol property => property.Type,
        _ => null,
    };

    private ImmutableHashSet<INamedTypeSymbol> Collect(SyntaxTree tree, CandidateFilter filter, ImmutableArray<string> initMethods, CancellationToken cancellationToken)
    {
        var found = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
        bool Record(ModuleRoot root)
        {
            if (root.Symbol is { } symbol
                && TypeOf(symbol) is INamedTypeSymbol type
                && symbols.IsModule(type)
                && type.Locations.Any(location => location.IsInSource))
            {
                found.Add(type.OriginalDefinition);
            }

            return false;
        }

        foreach (var declaration in index.Value.MembersOf(tree))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!filter.IsCandidate(declaration, MaxDepth))
            {
                continue;
            }

            if (declaration is CompilationUnitSyntax unit)
            {
                var first = unit.Members.OfType<GlobalStatementSyntax>().First();
                if (bodies.Operation(first.Statement, cancellationToken) is { } statement)
                {
                    ownership.ReachesInitialization(RootOf(statement), containingType: null, ModuleRoot.Unknown, Record, initMethods, cancellationToken, MaxDepth);
                }

                continue;
            }

            if (bodies.Operation(declaration, cancellationToken) is not { } body || DeclaredMethod(body, declaration, cancellationToken) is not { } method)
            {
                continue;
            }

            var thisRoot = method.IsStatic ? ModuleRoot.Unknown : ModuleRoot.This(method.ContainingType);
            ownership.ReachesInitialization(body, method.ContainingType, thisRoot, Record, initMethods, cancellationToken, MaxDepth);
        }

        return found.ToImmutableHashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
    }

    /// <summary>The method, accessor or (for an expression-bodied property) getter whose body <paramref name="declaration"/> is.</summary>
    private static IMethodSymbol? DeclaredMethod(IOperation body, SyntaxNode declaration, CancellationToken cancellationToken)
    {
        var model = body.SemanticModel;
        if (model is null)
        {
            return null;
        }

        return declaration is ArrowExpressionClauseSyntax { Parent: BasePropertyDeclarationSyntax property }
            ? (model.GetDeclaredSymbol(property, cancellationToken) as IPropertySymbol)?.GetMethod
            : model.GetDeclaredSymbol(declaration, cancellationToken) as IMethodSymbol;
    }

    private static IOperation RootOf(IOperation operation)
    {
        while (operation.Parent is { } parent)
        {
            operation = parent;
        }

        return operation;
    }

    /// <summary>
    /// Declarations of the whole compilation, gathered once without binding and without walking member bodies: member bodies by file
    /// and by name, and the names of members declared with a type. File texts are searched for names only when asked.
    /// </summary>
    private sealed class SyntaxIndex
    {
        private readonly Dictionary<string, HashSet<string>> membersByTypeName = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<SyntaxNode>> membersByName = new(StringComparer.Ordinal);
        private readonly Dictionary<SyntaxTree, List<SyntaxNode>> membersByTree = new();
        private readonly List<(SyntaxTree Tree, Lazy<string> Text)> texts = new();
        private readonly ConcurrentDictionary<SyntaxNode, MemberFacts> facts = new();

        public static SyntaxIndex Build(Compilation compilation)
        {
            var result = new SyntaxIndex();
            foreach (var tree in compilation.SyntaxTrees)
            {
                result.Add(tree);
            }

            return result;
        }

        public IReadOnlyList<SyntaxNode> MembersOf(SyntaxTree tree) =>
            membersByTree.TryGetValue(tree, out var list) ? list : Array.Empty<SyntaxNode>();

        public IReadOnlyList<SyntaxNode> MembersNamed(string name) =>
            membersByName.TryGetValue(name, out var list) ? list : Array.Empty<SyntaxNode>();

        public MemberFacts FactsOf(SyntaxNode declaration) => facts.GetOrAdd(declaration, MemberFacts.Of);

        /// <summary>
        /// Files whose text holds <paramref name="typeName"/>, or the name of a member declared with that type (a factory, a property), as a
        /// whole word. Comments and strings can add a file, never drop one.
        /// </summary>
        public IEnumerable<SyntaxTree> TreesReferring(string typeName, CancellationToken cancellationToken)
        {
            var names = new HashSet<string>(StringComparer.Ordinal) { typeName };
            if (membersByTypeName.TryGetValue(typeName, out var typed))
            {
                names.UnionWith(typed);
            }

            foreach (var (tree, text) in texts)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (names.Any(name => ContainsWord(text.Value, name)))
                {
                    yield return tree;
                }
            }
        }

        private static bool ContainsWord(string text, string word)
        {
            for (var at = text.IndexOf(word, StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + 1, StringComparison.Ordinal))
            {
                var end = at + word.Length;
                if ((at == 0 || !IsIdentifierPart(text[at - 1])) && (end == text.Length || !IsIdentifierPart(text[end])))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool IsIdentifierPart(char c) => char.IsLetterOrDigit(c) || c == '_';

        private void Add(SyntaxTree tree)
        {
            texts.Add((tree, new Lazy<string>(() => tree.GetText().ToString(), LazyThreadSafetyMode.ExecutionAndPublication)));
            var root = tree.GetRoot();
            var declarations = new List<SyntaxNode>();
            membersByTree[tree] = declarations;
            if (root is CompilationUnitSyntax unit && unit.Members.OfType<GlobalStatementSyntax>().Any())
            {
                declarations.Add(unit);
            }

            foreach (var node in root.DescendantNodes(descendIntoChildren: node =>
                node is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax or BaseTypeDeclarationSyntax or BasePropertyDeclarationSyntax or AccessorListSyntax))
            {
                switch (node)
                {
                    case MethodDeclarationSyntax method:
                        AddMember(declarations, method, method.Identifier.ValueText);
                        AddTypedMember(method.ReturnType, method.Identifier.ValueText);
                        break;
                    case ConstructorDeclarationSyntax constructor:
                        AddMember(declarations, constructor, constructor.Identifier.ValueText);
                        break;
                    case BaseMethodDeclarationSyntax other:
                        AddMember(declarations, other, name: null);
                        break;
                    case AccessorDeclarationSyntax accessor when accessor.Body is not null || accessor.ExpressionBody is not null:
                        AddMember(declarations, accessor, name: null);
                        break;
                    case ArrowExpressionClauseSyntax arrow when arrow.Parent is BasePropertyDeclarationSyntax:
                        AddMember(declarations, arrow, name: null);
                        break;
                    case UsingDirectiveSyntax { Alias: { } alias } directive:
                        AddTypedMember(directive, alias.Name.Identifier.ValueText);
                        break;
                    case BaseFieldDeclarationSyntax field:
                        foreach (var variable in field.Declaration.Variables)
                        {
                            AddTypedMember(field.Declaration.Type, variable.Identifier.ValueText);
                        }

                        break;
                }

                if (node is PropertyDeclarationSyntax property)
                {
                    AddTypedMember(property.Type, property.Identifier.ValueText);
                }
            }
        }

        private void AddMember(List<SyntaxNode> declarations, SyntaxNode declaration, string? name)
        {
            declarations.Add(declaration);
            if (name is null)
            {
                return;
            }

            if (!membersByName.TryGetValue(name, out var named))
            {
                membersByName[name] = named = new List<SyntaxNode>();
            }

            named.Add(declaration);
        }

        private void AddTypedMember(SyntaxNode type, string memberName)
        {
            foreach (var identifier in type.DescendantNodesAndSelf().OfType<SimpleNameSyntax>().Where(name => name.Parent is not NameEqualsSyntax))
            {
                var typeName = identifier.Identifier.ValueText;
                if (!membersByTypeName.TryGetValue(typeName, out var names))
                {
                    membersByTypeName[typeName] = names = new HashSet<string>(StringComparer.Ordinal);
                }

                names.Add(memberName);
            }
        }
    }

    /// <summary>
    /// Which member bodies are worth binding under one <c>init_methods</c> value: those whose syntax may initialise, or that call by name
    /// a member that may, within the depth the search follows calls.
    /// </summary>
    private sealed class CandidateFilter
    {
        private readonly SyntaxIndex index;
        private readonly HashSet<string> configured = new(StringComparer.Ordinal);
        private readonly bool everything;
        private readonly ConcurrentDictionary<(SyntaxNode Declaration, int Depth), bool> cache = new();

        public CandidateFilter(SyntaxIndex index, ImmutableArray<string> initMethods)
        {
            this.index = index;
            foreach (var pattern in initMethods.IsDefault ? ImmutableArray<string>.Empty : initMethods)
            {
                var last = pattern.Substring(pattern.LastIndexOf('.') + 1);
                everything |= last.IndexOf('*') >= 0;
                configured.Add(last);
            }
        }

        public bool IsCandidate(SyntaxNode declaration, int depth) =>
            everything || cache.GetOrAdd((declaration, depth), entry => Compute(entry.Declaration, entry.Depth));

        private bool Compute(SyntaxNode declaration, int depth)
        {
            var facts = index.FactsOf(declaration);
            if (facts.MayInitialize || facts.Invoked.Overlaps(configured))
            {
                return true;
            }

            return depth > 0 && facts.Invoked.Any(name => index.MembersNamed(name).Any(callee => IsCandidate(callee, depth - 1)));
        }
    }

    private sealed class MemberFacts
    {
        private MemberFacts(HashSet<string> invoked, bool mayInitialize)
        {
            Invoked = invoked;
            MayInitialize = mayInitialize;
        }

        /// <summary>The simple names this body calls (a <c>this(...)</c> initializer calls its type's name).</summary>
        public HashSet<string> Invoked { get; }

        /// <summary>Its own syntax calls something that could initialise or load, or assigns a weight or bias.</summary>
        public bool MayInitialize { get; }

        public static MemberFacts Of(SyntaxNode declaration)
        {
            var parts = declaration is CompilationUnitSyntax unit ? unit.Members.OfType<GlobalStatementSyntax>().Cast<SyntaxNode>() : [declaration];
            var invoked = new HashSet<string>(StringComparer.Ordinal);
            var mayInitialize = false;
            foreach (var node in parts.SelectMany(part => part.DescendantNodesAndSelf()))
            {
                switch (node)
                {
                    case InvocationExpressionSyntax invocation when InvokedName(invocation.Expression) is { } invokedName:
                        invoked.Add(invokedName);
                        mayInitialize |= invokedName.EndsWith("_", StringComparison.Ordinal)
                            || invokedName == "apply"
                            || ModuleParameterOwnership.LoadMethods.Contains(invokedName);
                        break;
                    case ConstructorInitializerSyntax { RawKind: (int)SyntaxKind.ThisConstructorInitializer } when declaration is ConstructorDeclarationSyntax constructor:
                        invoked.Add(constructor.Identifier.ValueText);
                        break;
                    case AssignmentExpressionSyntax { Left: MemberAccessExpressionSyntax target }:
                        var assigned = target.Name.Identifier.ValueText;
                        mayInitialize |= assigned.IndexOf("weight", StringComparison.OrdinalIgnoreCase) >= 0
                            || assigned.IndexOf("bias", StringComparison.OrdinalIgnoreCase) >= 0;
                        break;
                }
            }

            return new MemberFacts(invoked, mayInitialize);
        }

        private static string? InvokedName(ExpressionSyntax expression) => expression switch
        {
            SimpleNameSyntax simple => simple.Identifier.ValueText,
            MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
            MemberBindingExpressionSyntax binding => binding.Name.Identifier.ValueText,
            _ => null,
        };
    }
}
