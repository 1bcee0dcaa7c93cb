using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>The body being scanned and what its <c>this</c> and parameters stand for at the call that led there.</summary>
internal sealed class ModuleScope
{
    // A helper is scanned once per module and call that reaches it, each time in a scope of its own: its locals' values
    // do not depend on the scope, so they are found once per body.
    private static readonly ConditionalWeakTable<IOperation, Dictionary<ISymbol, List<AssignedValue>>> LocalValues = new();

    public ModuleScope(IOperation body, ModuleRoot @this, Dictionary<IParameterSymbol, ModuleRoot> parameters, INamedTypeSymbol? containingType)
    {
        Body = body;
        This = @this;
        Parameters = parameters;
        ContainingType = containingType;
    }

    public IOperation Body { get; }

    public ModuleRoot This { get; }

    public Dictionary<IParameterSymbol, ModuleRoot> Parameters { get; }

    public INamedTypeSymbol? ContainingType { get; }

    /// <summary>The values assigned to a local of the body, found for every local in one walk (init loops resolve locals many times).</summary>
    public IReadOnlyList<AssignedValue> ValuesOf(ILocalSymbol local) =>
        LocalValues.GetValue(Body, CollectLocalValues).TryGetValue(local, out var assigned) ? assigned : [];

    private static Dictionary<ISymbol, List<AssignedValue>> CollectLocalValues(IOperation body)
    {
        var values = new Dictionary<ISymbol, List<AssignedValue>>(SymbolEqualityComparer.Default);
        foreach (var (symbol, value) in AssignedValues.All(body))
        {
            if (symbol is ILocalSymbol)
            {
                (values.TryGetValue(symbol, out var list) ? list : values[symbol] = []).Add(value);
            }
        }

        return values;
    }
}

/// <summary>
/// Answers "which module does this parameter access belong to": follows tensor and module expressions back through
/// <c>named_parameters()</c>/<c>parameters()</c>/<c>get_parameter(...)</c>/weight properties, indexers, LINQ, foreach and
/// pattern variables, inline arrays and collections of modules, and parameters bound at the call that led there.
/// </summary>
internal sealed class ModuleRoots
{
    private readonly TrainingProgram program;

    public ModuleRoots(TrainingProgram program)
    {
        this.program = program;
    }

    private TorchSharpSymbols Symbols => program.Symbols;

    /// <summary>The one module <paramref name="value"/> belongs to, or <see cref="ModuleRoot.Unknown"/>.</summary>
    public ModuleRoot Resolve(IOperation? value, ModuleScope scope)
    {
        foreach (var root in Roots(value, scope, NewLocalSet()))
        {
            if (root.IsKnown)
            {
                return root;
            }
        }

        return ModuleRoot.Unknown;
    }

    /// <summary>
    /// Every module <paramref name="value"/> may belong to. Usually one; an inline array or collection of modules
    /// (<c>foreach (var gru in new[] { encoder, decoder })</c>) belongs to each of its elements.
    /// </summary>
    public List<ModuleRoot> ResolveAll(IOperation? value, ModuleScope scope)
    {
        var roots = Roots(value, scope, NewLocalSet()).Where(root => root.IsKnown).Distinct().ToList();
        return roots.Count == 0 ? [ModuleRoot.Unknown] : roots;
    }

    private static HashSet<ILocalSymbol> NewLocalSet() => new(SymbolEqualityComparer.Default);

    private IEnumerable<ModuleRoot> Roots(IOperation? value, ModuleScope scope, HashSet<ILocalSymbol> visitedLocals)
    {
        switch (value)
        {
            case null:
                return [ModuleRoot.Unknown];
            case IConversionOperation or IParenthesizedOperation:
                return Roots(value.WithoutConversions(), scope, visitedLocals);
            case IInstanceReferenceOperation:
                return [scope.This];
            case IParameterReferenceOperation parameter:
                return [scope.Parameters.TryGetValue(parameter.Parameter.OriginalDefinition, out var bound) ? bound : ModuleRoot.Of(parameter.Parameter)];
            case IFieldReferenceOperation field:
                return [ModuleRoot.Of(field.Field)];
            case IPropertyReferenceOperation property:
                // Indexers (p[TensorIndex.Slice(...)]) and TorchSharp's own properties (cell.weight_hh) belong to their receiver;
                // a property declared in source that holds a module is itself the storage.
                return property.Property.IsIndexer || !property.Property.Locations.Any(location => location.IsInSource)
                    ? Roots(property.Instance, scope, visitedLocals)
                    : [ModuleRoot.Of(property.Property)];
            case IArrayElementReferenceOperation element:
                return Roots(element.ArrayReference, scope, visitedLocals);
            case IInvocationOperation invocation:
                return ResolveInvocation(invocation, scope, visitedLocals);
            case ILocalReferenceOperation local:
                return ResolveLocal(local.Local, scope, visitedLocals);
            case IArrayCreationOperation { Initializer: { } initializer }:
                return ElementRoots(initializer.ElementValues, scope, visitedLocals);
            case { Syntax: CollectionExpressionSyntax }:
                // Roslyn 4.8 has no public operation for [a, b]; its elements are the child operations.
                return ElementRoots(value.ChildOperations, scope, visitedLocals);
            case IObjectCreationOperation { Initializer: { } initializer }:
                // new List<Module> { a, b }: each Add(...) call names an element.
                return ElementRoots(
                    initializer.Initializers.OfType<IInvocationOperation>().Where(add => add.Arguments.Length == 1).Select(add => add.Arguments[0].Value),
                    scope,
                    visitedLocals);
            default:
                return [ModuleRoot.Unknown];
        }
    }

    private List<ModuleRoot> ElementRoots(IEnumerable<IOperation> elements, ModuleScope scope, HashSet<ILocalSymbol> visitedLocals)
    {
        var roots = elements.SelectMany(element => Roots(element, scope, visitedLocals)).Where(root => root.IsKnown).ToList();
        return roots.Count == 0 ? [ModuleRoot.Unknown] : roots;
    }

    private IEnumerable<ModuleRoot> ResolveInvocation(IInvocationOperation invocation, ModuleScope scope, HashSet<ILocalSymbol> visitedLocals)
    {
        var method = invocation.TargetMethod;

        // Tensor and module methods (named_parameters, parameters, get_parameter, get_weight_hh, narrow, view, modules …) keep the owner.
        if (!method.IsStatic && invocation.Instance is not null && (Symbols.IsModule(method.ContainingType) || Symbols.IsTensor(method.ContainingType)))
        {
            return Roots(invocation.Instance, scope, visitedLocals);
        }

        // LINQ over a parameter sequence (Where, Select, ToList, First …) keeps the owner of the sequence.
        if (method.IsExtensionMethod && invocation.Arguments.Length > 0 && method.ContainingNamespace?.ToDisplayString() == "System.Linq")
        {
            return Roots(invocation.Arguments[0].Value, scope, visitedLocals);
        }

        return [ModuleRoot.Unknown];
    }

    private List<ModuleRoot> ResolveLocal(ILocalSymbol local, ModuleScope scope, HashSet<ILocalSymbol> visitedLocals)
    {
        var holdsModule = Symbols.IsModule(local.Type);
        if (!visitedLocals.Add(local))
        {
            return [holdsModule ? ModuleRoot.Of(local) : ModuleRoot.Unknown];
        }

        foreach (var assigned in scope.ValuesOf(local))
        {
            if (assigned.Kind == AssignmentKind.CoalesceAssignment
                || (assigned.Kind == AssignmentKind.Pattern && assigned.Origin is IDeclarationPatternOperation pattern && ExcludesRecurrentModules(pattern.MatchedType)))
            {
                continue;
            }

            var roots = Roots(assigned.Value, scope, visitedLocals).Where(root => root.IsKnown).ToList();
            if (roots.Count > 0)
            {
                return roots;
            }
        }

        // A local that holds a module created here (var rnn = nn.RNN(...)) is itself the storage of that module.
        return [holdsModule ? ModuleRoot.Of(local) : ModuleRoot.Unknown];
    }

    /// <summary><c>m is Linear l</c> selects a module that is not recurrent, so what is done to <c>l</c> does not reach an RNN.</summary>
    private bool ExcludesRecurrentModules(ITypeSymbol? matchedType) =>
        matchedType is not null
        && Symbols.IsModule(matchedType)
        && matchedType.ContainingNamespace?.ToDisplayString() == "TorchSharp.Modules"
        && !Symbols.IsRecurrentModule(matchedType);
}
