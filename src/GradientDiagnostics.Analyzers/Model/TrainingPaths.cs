using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Whether code runs while a model trains, with autograd recording: the question of rules about what a forward pass does
/// during training rather than about a whole training step. Code under <c>torch.no_grad()</c> or <c>inference_mode()</c>
/// does not. Otherwise code runs in training when its body trains (runs backward(), directly or through source helpers),
/// when it is a module's <c>forward</c> — a model runs it whenever it is called, trained in this compilation or in
/// another assembly — or a method of the module's type that <c>forward</c> calls, or when code that trains calls it with
/// gradients enabled (evaluation under <c>no_grad()</c> after a training loop is not training, and neither is code after a
/// module's <c>eval()</c> in a body that does not train itself). A method none of these reach (a constructor probing
/// shapes, sampling or inference helpers, an API test) is left alone.
/// </summary>
internal sealed class TrainingPaths
{
    private readonly TrainingProgram program;
    private readonly ConcurrentDictionary<IMethodSymbol, bool> calledInTraining = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<(SyntaxTree Tree, int Start), bool> trainingBodies = new();

    public TrainingPaths(TrainingProgram program)
    {
        this.program = program;
    }

    /// <summary>True under a <c>using</c> of <c>torch.no_grad()</c> / <c>inference_mode()</c> (statement or declaration).</summary>
    public bool GradientsDisabledAt(IOperation operation) =>
        operation.EnclosingUsingResources().Any(resource => resource.Invocations().Any(invocation => program.Symbols.DisablesGradients(invocation.TargetMethod)));

    /// <summary>True when <paramref name="operation"/>, in the body of <paramref name="member"/>, runs while a model trains.</summary>
    public bool RunsInTraining(IOperation operation, ISymbol member, CancellationToken cancellationToken)
    {
        if (GradientsDisabledAt(operation))
        {
            return false;
        }

        var root = operation.Root();
        return trainingBodies.GetOrAdd((root.Syntax.SyntaxTree, root.Syntax.SpanStart), _ => Trains(root, cancellationToken))
            || (!EvaluatesAt(operation) && member is IMethodSymbol method && calledInTraining.GetOrAdd(method.OriginalDefinition, m => IsCalledInTraining(m, cancellationToken)));
    }

    /// <summary>
    /// True after a module's <c>eval()</c> (or <c>train(false)</c>) in an enclosing block, with no <c>train()</c> in between:
    /// a validation pass a training loop runs (<c>model.eval(); Validate(model); model.train();</c>), whose forward gets no
    /// gradient. Asked only outside bodies that train: fine-tuning in eval mode (frozen dropout) still trains.
    /// </summary>
    private bool EvaluatesAt(IOperation operation)
    {
        var child = operation;
        for (var current = operation.Parent; current is not null; child = current, current = current.Parent)
        {
            if (current is not IBlockOperation block)
            {
                continue;
            }

            var index = block.Operations.IndexOf(child);
            for (var i = index - 1; i >= 0; i--)
            {
                var mode = block.Operations[i].Invocations().Select(ModeSet).LastOrDefault(set => set is not null);
                if (mode is { } evaluation)
                {
                    return evaluation;
                }
            }
        }

        return false;
    }

    /// <summary><c>eval()</c>/<c>train(false)</c>: true; <c>train()</c>: false; any other call: null.</summary>
    private bool? ModeSet(IInvocationOperation invocation) =>
        invocation.TargetMethod.Name is "eval" or "train" && program.Symbols.IsModule(invocation.TargetMethod.ContainingType)
            ? invocation.TargetMethod.Name == "eval"
                || invocation.Arguments.FirstOrDefault(argument => argument.Parameter?.Ordinal == 0) is { ArgumentKind: ArgumentKind.Explicit, Value.ConstantValue: { HasValue: true, Value: false } }
            : null;

    private bool Trains(IOperation root, CancellationToken cancellationToken) =>
        program.Search.MayReach(root.Syntax.SyntaxTree, root.Syntax.Span, TextGoal.Mentioning(TorchSharpSymbols.BackwardNames))
        && program.Calls.Trains(root, cancellationToken);

    private bool IsCalledInTraining(IMethodSymbol method, CancellationToken cancellationToken) =>
        IsModuleForward(method)
        || CalledByForwardOfItsType(method, cancellationToken)
        || program.TrainingCallSites.Of(method, cancellationToken).Any(site => !GradientsDisabledAt(site) && !EvaluatesAt(site));

    private bool IsModuleForward(IMethodSymbol method) => method.Name == "forward" && !method.IsStatic && program.Symbols.IsModule(method.ContainingType);

    /// <summary>A helper of a module's forward (<c>Encode</c>, <c>Step</c>) declared in the module's type and called by its forward.</summary>
    private bool CalledByForwardOfItsType(IMethodSymbol method, CancellationToken cancellationToken)
    {
        var type = method.ContainingType;
        if (type is null || !program.Symbols.IsModule(type))
        {
            return false;
        }

        foreach (var forward in type.GetMembers("forward").OfType<IMethodSymbol>())
        {
            foreach (var body in program.Bodies.Of(forward, cancellationToken))
            {
                if (body.Invocations().Any(invocation => SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.OriginalDefinition, method)))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
