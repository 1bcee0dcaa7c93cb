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
/// <item>Files: only those that mention the model type's name, or the name of a member whose declared type mentions it
/// (<c>var model = Models.Create();</c> with <c>static Seq2Seq Create()</c>). A local, parameter, field or property of the model type
/// needs one of these identifiers in its file, except through chains of such members two levels deep, a partial type whose field is
/// declared in another file, or a global using alias: those stay reported (a false positive, never a missed initialisation of an
/// analysed file turned into silence).</item>
/// <item>Members of those files: only bodies whose syntax calls something that could initialise or load (a name ending in <c>_</c>, a load
/// method, <c>apply</c>, the last segment of a configured init method, or assigns a <c>weight</c>/<c>bias</c> member), or that call, by
/// name, a member that does so within the depth the search follows calls. A configured init method whose last segment has a wildcard
/// turns the member filter off.</item>
/// </list>
/// Results are cached per file and per effective <c>init_methods</c> value, so per-folder settings give the same answer in any order.
/// </remarks>
internal sealed class ModelsInitializedElsewhere
{
    /// <summary>How many calls deep helpers are followed from each method (fewer than for one type, to bound the cost).</summary>
    private const int MaxDepth = 2;

    private readonly Compilation compilation;
    private readonly TorchSharpSymbols symbols;
    private readonly SourceMethodBodies bodies;
    private readonly ModuleParameterOwnership ownership;
    private readonly Lazy<SyntaxIndex> index;
    private readonly ConcurrentDictionary<string, ImmutableHashSet<SyntaxNode>> candidatesByOptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(SyntaxTree Tree, string Options), ImmutableHashSet<INamedTypeSymbol>> collected = new();

    public ModelsInitializedElsewhere(Compilation compilation, TorchSharpSymbols symbols, SourceMethodBodies bodies, ModuleParameterOwnership ownership)
    {
        this.compilation = compilation;
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
        var candidates = candidatesByOptions.GetOrAdd(key, _ => syntax.Candidates(initMethods));
        foreach (var tree in syntax.TreesReferring(definition.Name))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var found = collected.GetOrAdd((tree, key), entry => Collect(entry.Tree, candidates, initMethods, cancellationToken));
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

    private ImmutableHashSet<INamedTypeSymbol> Collect(SyntaxTree tree, ImmutableHashSet<SyntaxNode> candidates, ImmutableArray<string> initMethods, CancellationToken cancellationToken)
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
            if (!candidates.Contains(declaration))
            {
                continue;
            }

            if (declaration is CompilationUnitSyntax unit)
            {
                var first = unit.Members.OfType<GlobalStatementSyntax>().First();
                if (bodies.GetOperation(first.Statement, cancellationToken) is { } statement)
                {
                    ownership.ReachesInitialization(RootOf(statement), containingType: null, ModuleRoot.Unknown, Record, initMethods, cancellationToken, MaxDepth);
                }

                continue;
            }

            if (bodies.GetOperation(declaration, cancellationToken) is not { } body || DeclaredMethod(body, declaration, cancellationToken) is not { } method)
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

    /// <summary>What the syntax of the whole compilation says, gathered once without binding.</summary>
    private sealed class SyntaxIndex
    {
        private readonly Dictionary<string, List<SyntaxTree>> treesByIdentifier = new(StringComparer.Ordinal);
        private readonly Dictionary<string, HashSet<string>> membersByTypeName = new(StringComparer.Ordinal);
        private readonly Dictionary<SyntaxTree, List<SyntaxNode>> membersByTree = new();
        private readonly List<MemberFacts> members = new();

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

        /// <summary>Files that mention <paramref name="typeName"/>, or a member declared with that type (a factory, a property).</summary>
        public IEnumerable<SyntaxTree> TreesReferring(string typeName)
        {
            var names = new HashSet<string>(StringComparer.Ordinal) { typeName };
            if (membersByTypeName.TryGetValue(typeName, out var typed))
            {
                names.UnionWith(typed);
            }

            var seen = new HashSet<SyntaxTree>();
            foreach (var name in names)
            {
                if (!treesByIdentifier.TryGetValue(name, out var trees))
                {
                    continue;
                }

                foreach (var tree in trees)
                {
                    if (seen.Add(tree))
                    {
                        yield return tree;
                    }
                }
            }
        }

        /// <summary>
        /// The member bodies worth binding under these init methods: those that may initialise themselves, or call by name a member
        /// that may, up to <see cref="MaxDepth"/> calls deep.
        /// </summary>
        public ImmutableHashSet<SyntaxNode> Candidates(ImmutableArray<string> initMethods)
        {
            var configured = new HashSet<string>(StringComparer.Ordinal);
            var everything = false;
            foreach (var pattern in initMethods.IsDefault ? ImmutableArray<string>.Empty : initMethods)
            {
                var last = pattern.Substring(pattern.LastIndexOf('.') + 1);
                everything |= last.Contains("*");
                configured.Add(last);
            }

            bool Direct(MemberFacts member) => everything || member.MayInitialize || member.Invoked.Overlaps(configured);

            var level = new HashSet<SyntaxNode>(members.Where(Direct).Select(member => member.Declaration));
            for (var depth = 0; depth < MaxDepth; depth++)
            {
                var names = new HashSet<string>(
                    members.Where(member => member.Name is not null && level.Contains(member.Declaration)).Select(member => member.Name!),
                    StringComparer.Ordinal);
                level.UnionWith(members.Where(member => member.Invoked.Overlaps(names)).Select(member => member.Declaration));
            }

            return level.ToImmutableHashSet();
        }

        private void Add(SyntaxTree tree)
        {
            var root = tree.GetRoot();
            foreach (var token in root.DescendantTokens())
            {
                if (token.IsKind(SyntaxKind.IdentifierToken))
                {
                    AddTree(token.ValueText, tree);
                }
            }

            var declarations = new List<SyntaxNode>();
            membersByTree[tree] = declarations;
            if (root is CompilationUnitSyntax unit && unit.Members.OfType<GlobalStatementSyntax>().Any())
            {
                AddMember(declarations, unit, name: null, unit.Members.OfType<GlobalStatementSyntax>());
            }

            foreach (var node in root.DescendantNodes(descendIntoChildren: node => node is not BaseMethodDeclarationSyntax and not AccessorDeclarationSyntax and not ArrowExpressionClauseSyntax))
            {
                switch (node)
                {
                    case MethodDeclarationSyntax method:
                        AddMember(declarations, method, method.Identifier.ValueText, [method]);
                        AddTypedMember(method.ReturnType, method.Identifier.ValueText);
                        break;
                    case ConstructorDeclarationSyntax constructor:
                        AddMember(declarations, constructor, constructor.Identifier.ValueText, [constructor]);
                        break;
                    case BaseMethodDeclarationSyntax other:
                        AddMember(declarations, other, name: null, [other]);
                        break;
                    case AccessorDeclarationSyntax accessor when accessor.Body is not null || accessor.ExpressionBody is not null:
                        AddMember(declarations, accessor, name: null, [accessor]);
                        break;
                    case ArrowExpressionClauseSyntax arrow when arrow.Parent is BasePropertyDeclarationSyntax:
                        AddMember(declarations, arrow, name: null, [arrow]);
                        break;
                    case PropertyDeclarationSyntax property:
                        AddTypedMember(property.Type, property.Identifier.ValueText);
                        break;
                    case BaseFieldDeclarationSyntax field:
                        foreach (var variable in field.Declaration.Variables)
                        {
                            AddTypedMember(field.Declaration.Type, variable.Identifier.ValueText);
                        }

                        break;
                }
            }
        }

        private void AddTree(string identifier, SyntaxTree tree)
        {
            if (!treesByIdentifier.TryGetValue(identifier, out var trees))
            {
                treesByIdentifier[identifier] = trees = new List<SyntaxTree>();
            }

            if (trees.Count == 0 || trees[trees.Count - 1] != tree)
            {
                trees.Add(tree);
            }
        }

        private void AddTypedMember(TypeSyntax type, string memberName)
        {
            foreach (var identifier in type.DescendantNodesAndSelf().OfType<SimpleNameSyntax>())
            {
                var typeName = identifier.Identifier.ValueText;
                if (!membersByTypeName.TryGetValue(typeName, out var names))
                {
                    membersByTypeName[typeName] = names = new HashSet<string>(StringComparer.Ordinal);
                }

                names.Add(memberName);
            }
        }

        private void AddMember(List<SyntaxNode> declarations, SyntaxNode declaration, string? name, IEnumerable<SyntaxNode> parts)
        {
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

            declarations.Add(declaration);
            members.Add(new MemberFacts(declaration, name, invoked, mayInitialize));
        }

        private static string? InvokedName(ExpressionSyntax expression) => expression switch
        {
            SimpleNameSyntax simple => simple.Identifier.ValueText,
            MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
            MemberBindingExpressionSyntax binding => binding.Name.Identifier.ValueText,
            _ => null,
        };
    }

    private sealed class MemberFacts
    {
        public MemberFacts(SyntaxNode declaration, string? name, HashSet<string> invoked, bool mayInitialize)
        {
            Declaration = declaration;
            Name = name;
            Invoked = invoked;
            MayInitialize = mayInitialize;
        }

        public SyntaxNode Declaration { get; }

        /// <summary>The name a call to this member uses; null for accessors, operators and top-level statements.</summary>
        public string? Name { get; }

        public HashSet<string> Invoked { get; }

        /// <summary>Its own syntax calls something that could initialise or load, or assigns a weight or bias.</summary>
        public bool MayInitialize { get; }
    }
}
