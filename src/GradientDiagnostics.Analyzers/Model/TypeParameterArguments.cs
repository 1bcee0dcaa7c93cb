using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The types the compilation's sources give a type parameter of a source type or method: <c>new Trainer&lt;Seq2One&gt;(…)</c>,
/// <c>class LstmTrainer : Trainer&lt;Seq2One&gt;</c>, <c>Fit&lt;Seq2One&gt;(…)</c> or <c>Fit(model)</c> with the argument
/// inferred. A generic trainer's model (<c>TModel model</c>) stands for these, as an abstract model type stands for its
/// subclasses. Default when some use cannot be told (an argument that is itself another type parameter): the caller then
/// knows nothing. Searched only in the files that name the generic type or method, once per parameter.
/// </summary>
internal sealed class TypeParameterArguments
{
    private readonly TrainingProgram program;
    private readonly ConcurrentDictionary<ITypeParameterSymbol, ImmutableArray<ITypeSymbol>> arguments = new(SymbolEqualityComparer.Default);

    public TypeParameterArguments(TrainingProgram program)
    {
        this.program = program;
    }

    /// <summary>The distinct type arguments given to <paramref name="parameter"/>; default when a use cannot be told, empty when there is none.</summary>
    public ImmutableArray<ITypeSymbol> Of(ITypeParameterSymbol parameter, CancellationToken cancellationToken) =>
        arguments.GetOrAdd((ITypeParameterSymbol)parameter.OriginalDefinition, p => Find(p, cancellationToken));

    private ImmutableArray<ITypeSymbol> Find(ITypeParameterSymbol parameter, CancellationToken cancellationToken)
    {
        ISymbol? owner = (ISymbol?)parameter.DeclaringType ?? parameter.DeclaringMethod;
        if (owner is null || owner.DeclaringSyntaxReferences.IsEmpty)
        {
            return default;
        }

        var found = ImmutableHashSet.CreateBuilder<ITypeSymbol>(SymbolEqualityComparer.Default);
        foreach (var tree in program.Search.TreesMentioning([owner.Name], cancellationToken))
        {
            var model = program.Bodies.Model(tree);
            foreach (var name in tree.GetRoot(cancellationToken).DescendantNodes().OfType<SimpleNameSyntax>())
            {
                if (name.Identifier.ValueText != owner.Name)
                {
                    continue;
                }

                switch (ArgumentAt(model.GetSymbolInfo(name, cancellationToken).Symbol, parameter))
                {
                    case null:
                        break;
                    case ITypeParameterSymbol other when SymbolEqualityComparer.Default.Equals(other.OriginalDefinition, parameter):
                        // The type or method naming itself inside its own declaration (Trainer<TModel> as a return type).
                        break;
                    case ITypeParameterSymbol or IErrorTypeSymbol:
                        return default;
                    case var argument:
                        found.Add(argument);
                        break;
                }
            }
        }

        return found.ToImmutableArray();
    }

    /// <summary>The argument a constructed use of the parameter's type (or of a type nested in it) or method gives the parameter.</summary>
    private static ITypeSymbol? ArgumentAt(ISymbol? symbol, ITypeParameterSymbol parameter)
    {
        if (parameter.DeclaringMethod is { } method)
        {
            var used = symbol is IMethodSymbol { ReducedFrom: { } reducedFrom } reduced ? reduced.GetConstructedReducedFrom() ?? reducedFrom : symbol as IMethodSymbol;
            return used is not null && SymbolEqualityComparer.Default.Equals(used.OriginalDefinition, method.OriginalDefinition) && parameter.Ordinal < used.TypeArguments.Length
                ? used.TypeArguments[parameter.Ordinal]
                : null;
        }

        for (var type = symbol as INamedTypeSymbol ?? (symbol as IMethodSymbol)?.ContainingType; type is not null; type = type.ContainingType)
        {
            if (SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, parameter.DeclaringType?.OriginalDefinition))
            {
                return type.TypeArguments[parameter.Ordinal];
            }
        }

        return null;
    }
}
