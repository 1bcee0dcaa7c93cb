using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The places in the compilation that create a model (<c>new Seq2Seq(...)</c>, or a subclass), and whether each one
/// initialises or loads the new instance on the path that creates it: right after the creation in the same body
/// (<c>var model = new Seq2Seq(); model.apply(Init.Weights);</c>, <c>model.load(path)</c> — not behind a condition), in the
/// constructor of the subclass it creates, or — for a factory that returns it — at every call of the factory. Asked only
/// for a model whose own constructors leave a recurrent module at its default initialisation; only the member bodies that
/// name the model are bound (<see cref="SourceSearch"/>).
/// </summary>
internal sealed class ModelCreationSites
{
    private const int MaxFactoryDepth = 2;

    private readonly TrainingProgram program;
    private readonly InitializationReach reach;
    private readonly ConcurrentDictionary<CacheKey, bool> answers = new();

    public ModelCreationSites(TrainingProgram program, InitializationReach reach)
    {
        this.program = program;
        this.reach = reach;
    }

    public static bool IsOrDerives(INamedTypeSymbol candidate, INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? current = candidate; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, type.OriginalDefinition))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the compilation creates <paramref name="model"/> somewhere and every creation initialises or loads it.</summary>
    public bool EveryCreationInitializes(INamedTypeSymbol model, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        answers.GetOrAdd(new CacheKey(model.OriginalDefinition, 0, options), key => Compute((INamedTypeSymbol)key.Symbol, key.Options, cancellationToken));

    private bool Compute(INamedTypeSymbol model, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        var creations = Invocations(program.Search.WordsReferring(model, cancellationToken), cancellationToken)
            .OfType<IObjectCreationOperation>()
            .Where(creation => creation.Type is INamedTypeSymbol type && IsOrDerives(type, model))
            .ToList();
        return creations.Count > 0 && creations.All(creation => Initializes(creation, model, options, MaxFactoryDepth, cancellationToken));
    }

    /// <summary>The operations that create or call something in the member bodies naming one of <paramref name="words"/>.</summary>
    private IEnumerable<IOperation> Invocations(IReadOnlyCollection<string> words, CancellationToken cancellationToken)
    {
        foreach (var body in program.BodiesMentioning(words, words, cancellationToken))
        {
            foreach (var operation in body.DescendantsAndSelf())
            {
                if (operation is IObjectCreationOperation or IInvocationOperation)
                {
                    yield return operation;
                }
            }
        }
    }

    /// <summary>Whether the model made by <paramref name="site"/> (a creation, or a call of a factory) is initialised on the path that makes it.</summary>
    private bool Initializes(IOperation site, INamedTypeSymbol model, GradientDiagnosticsOptions options, int depth, CancellationToken cancellationToken)
    {
        if (site is IObjectCreationOperation { Type: INamedTypeSymbol created } && !SymbolEqualityComparer.Default.Equals(created.OriginalDefinition, model.OriginalDefinition)
            && SubclassConstructorsInitialize(created, model, options, cancellationToken))
        {
            return true;
        }

        var value = site;
        while (value.Parent is IConversionOperation or IParenthesizedOperation)
        {
            value = value.Parent;
        }

        var body = site.Root();
        var containingType = (body.SemanticModel?.GetEnclosingSymbol(site.Syntax.SpanStart, cancellationToken) as IMethodSymbol)?.ContainingType;
        var storage = value.Parent switch
        {
            IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => declarator.Symbol,
            ISimpleAssignmentOperation assignment when assignment.Value == value => assignment.Target.ReferencedSymbol(),
            _ => null,
        };

        if (storage is not null && reach.Reaches(body, containingType, ModuleRoot.Unknown, root => SymbolEqualityComparer.Default.Equals(root.Symbol, storage), options.InitMethods, cancellationToken, from: site))
        {
            return true;
        }

        // A factory that returns what it created hands the decision to each of its callers.
        var returned = value.Parent is IReturnOperation
            || (storage is ILocalSymbol local && body.Descendants().OfType<IReturnOperation>().Any(r => SymbolEqualityComparer.Default.Equals(r.ReturnedValue?.ReferencedSymbol(), local)));
        if (!returned || depth == 0 || body.SemanticModel?.GetEnclosingSymbol(site.Syntax.SpanStart, cancellationToken) is not IMethodSymbol factory)
        {
            return false;
        }

        var calls = Invocations([factory.Name], cancellationToken)
            .OfType<IInvocationOperation>()
            .Where(call => SymbolEqualityComparer.Default.Equals(call.TargetMethod.OriginalDefinition, factory.OriginalDefinition))
            .ToList();
        return calls.Count > 0 && calls.All(call => Initializes(call, model, options, depth - 1, cancellationToken));
    }

    /// <summary>A subclass whose every constructor initialises the instance (<c>this</c>) covers the modules it inherits.</summary>
    private bool SubclassConstructorsInitialize(INamedTypeSymbol subclass, INamedTypeSymbol model, GradientDiagnosticsOptions options, CancellationToken cancellationToken) =>
        subclass.InstanceConstructors.Length > 0
        && subclass.InstanceConstructors.All(constructor => program.Bodies.Of(constructor, cancellationToken).Any(body =>
            reach.Reaches(body, subclass, ModuleRoot.This(subclass), root => root.InstanceOf is not null && IsOrDerives(root.InstanceOf, model), options.InitMethods, cancellationToken)));
}
