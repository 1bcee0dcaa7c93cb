using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Where GD0003/GD0004/GD0005 speak (DESIGN.md): where the choice of module and initialisation is made and matters. That
/// is a recurrent module that is a member of a model type — whoever trains the model, even in another assembly — or one
/// that reaches a training step in this compilation: created in a method that trains, handed to a method that trains, a
/// field of a class whose methods train it, or returned by a factory that training code calls. A module created and used
/// in a method that never trains (API and shape tests, inference, a model built only to be saved) is left alone.
/// </summary>
internal sealed class ModuleUse
{
    private readonly TrainingProgram program;
    private readonly ConcurrentDictionary<(SyntaxTree Tree, int Start, GradientDiagnosticsOptions Options), bool> answers = new();

    public ModuleUse(TrainingProgram program)
    {
        this.program = program;
    }

    /// <summary>True when the creation is a member of a model type or reaches a training step. Cached per creation (GD0003/4 and GD0005 ask alike).</summary>
    public bool IsWhereDecided(RecurrentModuleCreation creation, ISymbol member, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        var key = (creation.Operation.Syntax.SyntaxTree, creation.Operation.Syntax.SpanStart, options);
        if (answers.TryGetValue(key, out var known))
        {
            return known;
        }

        return answers.GetOrAdd(key, Compute(creation, member, options, cancellationToken));
    }

    private bool Compute(RecurrentModuleCreation creation, ISymbol member, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        var owner = member.ContainingType;
        var storages = Storages(creation, cancellationToken);
        if (owner is not null && program.Symbols.IsModule(owner)
            && (creation.RegisteredOnOwner || storages.Any(storage => storage is IFieldSymbol or IPropertySymbol && program.Symbols.IsModule(storage.ContainingType))))
        {
            return true;
        }

        foreach (var storage in storages.Where(storage => storage is IFieldSymbol or IPropertySymbol))
        {
            if (TrainedInItsType(storage, options, cancellationToken))
            {
                return true;
            }
        }

        var body = creation.Operation.Root();
        if (program.TrainingMethodOf(body, options, cancellationToken) is { Steps.IsEmpty: false })
        {
            return true;
        }

        var locals = new HashSet<ISymbol>(storages.OfType<ILocalSymbol>(), SymbolEqualityComparer.Default);
        return HandedToTraining(body, locals, cancellationToken)
            || (ReturnedFrom(body, locals, creation.Operation) && body.SemanticModel?.GetEnclosingSymbol(creation.Operation.Syntax.SpanStart, cancellationToken) is IMethodSymbol factory
                && !program.TrainingCallSites.Of(factory, cancellationToken).IsEmpty);
    }

    /// <summary>The module's storage and the containers it is handed to (<c>var rnn = …; layers = nn.Sequential(("rnn", rnn));</c>).</summary>
    private List<ISymbol> Storages(RecurrentModuleCreation creation, CancellationToken cancellationToken)
    {
        var storages = new List<ISymbol>();
        if (creation.Storage is null)
        {
            return storages;
        }

        storages.Add(creation.Storage);
        if (creation.Storage is ILocalSymbol local)
        {
            foreach (var reference in creation.Operation.Root().Descendants().OfType<ILocalReferenceOperation>())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (SymbolEqualityComparer.Default.Equals(reference.Local, local)
                    && RecurrentModuleCreation.FindStorage(reference, program.Symbols).Storage is { } container
                    && !storages.Contains(container, SymbolEqualityComparer.Default))
                {
                    storages.Add(container);
                }
            }
        }

        return storages;
    }

    /// <summary>A field or property of a class whose own methods train it (a trainer that holds its model).</summary>
    private bool TrainedInItsType(ISymbol storage, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        foreach (var method in storage.ContainingType.GetMembers().OfType<IMethodSymbol>())
        {
            foreach (var body in program.Bodies.Of(method, cancellationToken))
            {
                if (program.TrainingMethodOf(body, options, cancellationToken) is { Steps.IsEmpty: false }
                    && body.Descendants().Any(operation => SymbolEqualityComparer.Default.Equals(operation.ReferencedSymbol(), storage)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The module (or a container of it) is passed to a source method that trains.</summary>
    private bool HandedToTraining(IOperation body, HashSet<ISymbol> locals, CancellationToken cancellationToken) =>
        locals.Count > 0
        && body.Invocations().Any(invocation =>
            !invocation.TargetMethod.DeclaringSyntaxReferences.IsEmpty
            && invocation.Arguments.Any(argument => Holds(locals, argument.Value))
            && program.Bodies.Of(invocation.TargetMethod, cancellationToken).Any(callee => program.Calls.Trains(callee, cancellationToken)));

    /// <summary>The method returns the module, or a value built around it (<c>return nn.Sequential(("rnn", nn.RNN(…)));</c>).</summary>
    private static bool ReturnedFrom(IOperation body, HashSet<ISymbol> locals, IOperation creation) =>
        body.Descendants().OfType<IReturnOperation>().Any(returned =>
            returned.ReturnedValue is { } value && (Holds(locals, value) || value.Contains(creation)));

    private static bool Holds(HashSet<ISymbol> locals, IOperation value) => value.ReferencedSymbol() is { } symbol && locals.Contains(symbol);
}
