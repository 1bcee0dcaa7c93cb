using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// What the state-flow analysis of one body asks the compilation model: state calls, detaches, backward() and resets —
/// by symbol, through source helpers — under the options in effect for that body.
/// </summary>
internal sealed class StateKnowledge
{
    private readonly TrainingProgram program;
    private readonly GradientDiagnosticsOptions options;
    private readonly CancellationToken cancellationToken;
    private readonly Dictionary<(int Start, int Length), StateCall?> stateCalls = new();
    private readonly Dictionary<(int Start, int Length), bool> runsBackward = new();
    private readonly Dictionary<(int Start, int Length), bool> detaching = new();

    public StateKnowledge(TrainingProgram program, GradientDiagnosticsOptions options, CancellationToken cancellationToken)
    {
        this.program = program;
        this.options = options;
        this.cancellationToken = cancellationToken;
    }

    public TorchSharpSymbols Symbols => program.Symbols;

    /// <summary>The state call an invocation makes, if any; asked again on every pass of the worklist, so kept per invocation.</summary>
    public StateCall? GetStateCall(IInvocationOperation invocation)
    {
        // Most invocations are neither a module's call/forward nor a source method: nothing to remember about them.
        if (invocation.TargetMethod is { Name: not ("call" or "forward"), DeclaringSyntaxReferences.IsEmpty: true })
        {
            return null;
        }

        var place = (invocation.Syntax.SpanStart, invocation.Syntax.Span.Length);
        if (!stateCalls.TryGetValue(place, out var call))
        {
            stateCalls.Add(place, call = program.StateCarries.Summaries.GetStateCall(invocation, options, cancellationToken));
        }

        return call;
    }

    public bool Trains(IOperation? operation) => operation is not null && program.Calls.Trains(operation, cancellationToken);

    /// <summary>Only a source helper's answer is worth remembering: for any other method it is one symbol test.</summary>
    public bool RunsBackward(IInvocationOperation invocation) =>
        invocation.TargetMethod.DeclaringSyntaxReferences.IsEmpty
            ? Symbols.IsBackward(invocation.TargetMethod)
            : Remember(runsBackward, invocation, () => program.Calls.RunsBackward(invocation, options, cancellationToken));

    public bool IsDetaching(IInvocationOperation invocation) =>
        invocation.TargetMethod.DeclaringSyntaxReferences.IsEmpty
            ? program.Calls.IsDetachMethod(invocation.TargetMethod, options)
            : Remember(detaching, invocation, () => program.Calls.IsDetaching(invocation, options, cancellationToken));

    /// <summary>True when the method owning <paramref name="body"/> is called (or, for a module's forward, invoked through call()) from code that runs backward().</summary>
    public bool CalledWhileTraining(IOperation body) =>
        OwningMethod(body) is { } owner && !program.TrainingCallSites.Of(owner, cancellationToken).IsEmpty;

    /// <summary>
    /// True when another method of the member's type (not a constructor) detaches or resets it — a stateful module's
    /// <c>DetachState()</c> or <c>ResetState()</c> — and training code calls that method once per call of the method
    /// that carries the state: in the same loop iteration (not once per epoch), and in every iteration (not only when
    /// <c>i % 50 == 0</c>; an if/else that resets on both branches does).
    /// </summary>
    public bool ResetElsewhere(ISymbol member, IOperation currentBody)
    {
        if (OwningMethod(currentBody) is not { } current)
        {
            return false;
        }

        var callSites = program.TrainingCallSites;
        var carrierSites = callSites.Of(current, cancellationToken);
        var resets = member.ContainingType.GetMembers().OfType<IMethodSymbol>()
            .Where(method => method.MethodKind is not (MethodKind.Constructor or MethodKind.StaticConstructor)
                && !SymbolEqualityComparer.Default.Equals(method.OriginalDefinition, current.OriginalDefinition)
                && Resets(method, member))
            .SelectMany(method => callSites.Of(method, cancellationToken))
            .ToList();
        foreach (var reset in resets)
        {
            var resetLoop = reset.EnclosingLoops().FirstOrDefault();
            if (carrierSites.Any(site => site.Root() == reset.Root() && site.EnclosingLoops().FirstOrDefault() == resetLoop)
                && RunsEveryTime(reset, (IOperation?)resetLoop?.Body ?? reset.Root(), resets))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A reset that runs on every pass through <paramref name="boundary"/>: unconditionally, or on both branches of an if/else.</summary>
    private static bool RunsEveryTime(IOperation reset, IOperation boundary, List<IInvocationOperation> resets) =>
        reset.ConditionsWithin(boundary).All(condition =>
            condition is IConditionalOperation { WhenFalse: { } whenFalse } branch
            && resets.Any(other => branch.WhenTrue.Contains(other)) && resets.Any(other => whenFalse.Contains(other)));

    /// <summary>
    /// What an invocation detaches in place: the tensor of <c>detach_()</c>; the receiver and arguments of a configured
    /// detach method; the object a source method that detaches is called on or handed (a state holder's Detach()), and
    /// a tensor argument only when that method detaches in place. A discarded <c>h.detach()</c> detaches nothing.
    /// </summary>
    public IEnumerable<IOperation> DetachedInPlace(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        if (Symbols.IsDetach(method))
        {
            return method.Name == "detach_" && invocation.Instance is { } tensor ? [tensor] : [];
        }

        if (GradientDiagnosticsOptions.Matches(method, options.DetachMethods))
        {
            return invocation.Arguments.Select(a => a.Value).Concat(invocation.Instance is null ? [] : [invocation.Instance]);
        }

        if (method.DeclaringSyntaxReferences.IsEmpty || !IsDetaching(invocation))
        {
            return [];
        }

        var inPlace = program.Calls.DetachesInPlace(method, options, cancellationToken);
        var targets = invocation.Arguments.Select(a => a.Value).Where(v => inPlace || IsStateHolder(v.Type)).ToList();
        if (invocation.Instance is { } receiver && (receiver is IInstanceReferenceOperation || IsStateHolder(receiver.Type)))
        {
            targets.Add(receiver);
        }

        return targets;
    }

    /// <summary>
    /// The worklist asks the same questions of the same invocations on every pass; answers are kept by the invocation's place
    /// (a control-flow graph rewrites operations, so they are no key).
    /// </summary>
    private static bool Remember(Dictionary<(int Start, int Length), bool> answers, IOperation invocation, System.Func<bool> compute)
    {
        var place = (invocation.Syntax.SpanStart, invocation.Syntax.Span.Length);
        if (!answers.TryGetValue(place, out var answer))
        {
            answers.Add(place, answer = compute());
        }

        return answer;
    }

    /// <summary>An object whose members a helper can detach (a tensor or a tuple is replaced, not changed, by detach()).</summary>
    private bool IsStateHolder(ITypeSymbol? type) => type is { IsReferenceType: true } && !Symbols.IsTensor(type);

    private IMethodSymbol? OwningMethod(IOperation body) => body.SemanticModel?.GetDeclaredSymbol(body.Syntax, cancellationToken) as IMethodSymbol;

    private bool Resets(IMethodSymbol method, ISymbol member)
    {
        foreach (var body in program.Bodies.Of(method, cancellationToken))
        {
            foreach (var operation in body.Descendants())
            {
                var written = operation switch
                {
                    ISimpleAssignmentOperation assignment when IsFreshState(assignment.Value) => assignment.Target,
                    IInvocationOperation invocation when Symbols.IsDetach(invocation.TargetMethod) => invocation.Instance,
                    _ => null,
                };
                if (written is IMemberReferenceOperation { Instance: null or IInstanceReferenceOperation } reference
                    && SymbolEqualityComparer.Default.Equals(reference.Member, member))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>A value with no history: null, a detach, a new tensor from a <c>torch</c> factory, or a tuple of those.</summary>
    private bool IsFreshState(IOperation value)
    {
        value = value.WithoutConversions();
        return value switch
        {
            ILiteralOperation or IDefaultValueOperation or IObjectCreationOperation => true,
            IConditionalAccessOperation access => IsFreshState(access.WhenNotNull),
            ITupleOperation tuple => tuple.Elements.All(IsFreshState),
            IInvocationOperation invocation => IsDetaching(invocation) || (invocation.Instance is null && Symbols.IsTorchFactory(invocation.TargetMethod)),
            _ => false,
        };
    }
}
