using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Where a source method is called from code that runs backward(): a field or property that holds state between calls of
/// a method is carried across training iterations when a training loop calls that method (a module's forward counts when
/// the loop calls the module). Asked only when a body leaves a state in such a place, per method, and searched only in the
/// member bodies that name the call (<see cref="SourceSearch"/>), so no question binds the whole compilation.
/// </summary>
internal sealed class TrainingCallSites
{
    private static readonly string[] ModuleCallNames = ["call", "forward"];

    private readonly TrainingProgram program;
    private readonly ConcurrentDictionary<IMethodSymbol, ImmutableArray<IInvocationOperation>> sites = new(SymbolEqualityComparer.Default);

    public TrainingCallSites(TrainingProgram program)
    {
        this.program = program;
    }

    /// <summary>The invocations of <paramref name="method"/> in code that runs backward(); a module's forward is invoked through call().</summary>
    public ImmutableArray<IInvocationOperation> Of(IMethodSymbol method, CancellationToken cancellationToken) =>
        sites.GetOrAdd(method.OriginalDefinition, m => Find(m, cancellationToken));

    private ImmutableArray<IInvocationOperation> Find(IMethodSymbol method, CancellationToken cancellationToken)
    {
        var isForward = method.Name == "forward" && program.Symbols.IsModule(method.ContainingType);
        IReadOnlyCollection<string> names = isForward ? ModuleCallNames : [method.Name];
        var files = isForward ? program.Search.WordsReferring(method.ContainingType, cancellationToken) : names;
        var found = ImmutableArray.CreateBuilder<IInvocationOperation>();
        foreach (var body in program.BodiesMentioning(files, names, cancellationToken))
        {
            if (program.Calls.Trains(body, cancellationToken))
            {
                found.AddRange(body.Invocations().Where(invocation => Calls(invocation, method, isForward)));
            }
        }

        return found.ToImmutable();
    }

    private bool Calls(IInvocationOperation invocation, IMethodSymbol method, bool isForward) =>
        SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.OriginalDefinition, method)
        || (isForward && invocation.TargetMethod.Name is "call" or "forward" && invocation.Instance?.Type is { } receiver
            && program.Symbols.IsModule(receiver) && StateCallSummaries.SourceForwards(receiver).Any(forward => SymbolEqualityComparer.Default.Equals(forward.OriginalDefinition, method)));
}
