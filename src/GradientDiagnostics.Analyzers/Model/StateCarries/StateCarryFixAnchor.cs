using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>Where GD0002's fix detaches a carried state, and — when it detaches at the carry — which expressions get <c>.detach()</c>.</summary>
internal sealed class StateCarryFixAnchor
{
    private StateCarryFixAnchor(SyntaxNode node, DetachInsertion insertion, ImmutableArray<(SyntaxNode Target, bool MayBeNull)> detachTargets)
    {
        Node = node;
        Insertion = insertion;
        DetachTargets = detachTargets;
    }

    public SyntaxNode Node { get; }

    public DetachInsertion Insertion { get; }

    /// <summary>For <see cref="DetachInsertion.AtCarry"/>: the tensor expressions of the assigned value, each detached where it is read.</summary>
    public ImmutableArray<(SyntaxNode Target, bool MayBeNull)> DetachTargets { get; }

    public static bool IsLoop(SyntaxNode node) =>
        node is ForStatementSyntax or ForEachStatementSyntax or ForEachVariableStatementSyntax or WhileStatementSyntax or DoStatementSyntax;

    /// <summary>
    /// Where the fix can detach without cutting a gradient the current iteration still needs: at the carry (or just after
    /// the store) when nothing later in the same loop body reads the carrier, otherwise at the top of the training loop (or
    /// method) body, where the previous iteration's backward() has already run. Null when there is no such place.
    /// </summary>
    public static StateCarryFixAnchor? Find(CarriedState carried, ControlFlowGraph graph, StateKnowledge knowledge, CancellationToken cancellationToken)
    {
        var statement = carried.Origin.Syntax.AncestorsAndSelf().OfType<StatementSyntax>().FirstOrDefault();
        var root = graph.OriginalOperation.Syntax;
        var model = graph.OriginalOperation.SemanticModel;
        if (statement is null || model is null)
        {
            return null;
        }

        var loops = statement.Ancestors().TakeWhile(a => a != root).Where(IsLoop).ToList();
        var trainingLoop = loops.FirstOrDefault(loop => knowledge.Trains(model.GetOperation(loop, cancellationToken)));
        if (statement.Parent is BlockSyntax && loops.FirstOrDefault() == trainingLoop && !ReadAfter(statement, trainingLoop ?? root, carried, model, cancellationToken))
        {
            var targets = CarryTargets(carried, knowledge.Symbols, model, cancellationToken);
            return targets.IsDefaultOrEmpty
                ? new StateCarryFixAnchor(statement, DetachInsertion.AfterStatement, ImmutableArray<(SyntaxNode, bool)>.Empty)
                : new StateCarryFixAnchor(statement, DetachInsertion.AtCarry, targets);
        }

        if (trainingLoop is not null)
        {
            return LoopBody(trainingLoop) is BlockSyntax ? new StateCarryFixAnchor(trainingLoop, DetachInsertion.AtBodyStart, ImmutableArray<(SyntaxNode, bool)>.Empty) : null;
        }

        return carried.Carriers.All(c => c.Persistent) && MethodBlock(root) is not null
            ? new StateCarryFixAnchor(root, DetachInsertion.AtBodyStart, ImmutableArray<(SyntaxNode, bool)>.Empty)
            : null;
    }

    /// <summary>
    /// The carry is a plain assignment (<c>h = hn;</c>, <c>state = (h, c);</c>, <c>h = hn.MoveToOuterDisposeScope();</c>, or
    /// a deconstruction of such a tuple): the tensors it reads, detached there, leave the iteration's own graph intact.
    /// Default when the value is anything else (the call of the module itself, a computation).
    /// </summary>
    private static ImmutableArray<(SyntaxNode, bool)> CarryTargets(CarriedState carried, TorchSharpSymbols symbols, SemanticModel model, CancellationToken cancellationToken)
    {
        // The control-flow graph lowers conditional access into captures: read the store as written.
        var values = new List<IOperation>();
        switch (model.GetOperation(carried.Origin.Syntax, cancellationToken))
        {
            case ISimpleAssignmentOperation assignment when assignment.Value.WithoutConversions() is ITupleOperation tuple:
                values.AddRange(tuple.Elements.Where(element => symbols.IsTensor(element.Type)));
                break;
            case ISimpleAssignmentOperation assignment:
                values.Add(assignment.Value);
                break;
            case IDeconstructionAssignmentOperation { Target: ITupleOperation targets } deconstruction when deconstruction.Value.WithoutConversions() is ITupleOperation tuple:
                for (var i = 0; i < targets.Elements.Length && i < tuple.Elements.Length; i++)
                {
                    if (carried.Carriers.Any(carrier => carrier.Syntax == targets.Elements[i].Syntax))
                    {
                        values.Add(tuple.Elements[i]);
                    }
                }

                break;
        }

        var result = ImmutableArray.CreateBuilder<(SyntaxNode, bool)>();
        foreach (var value in values)
        {
            if (DetachTarget(value, symbols) is not { } target)
            {
                return default;
            }

            var mayBeNull = model.GetTypeInfo(target.Syntax, cancellationToken).Nullability.FlowState == NullableFlowState.MaybeNull;
            result.Add((target.Syntax, mayBeNull));
        }

        return result.ToImmutable();
    }

    /// <summary>
    /// The tensor a carried value reads: a variable, field, property or tuple element, possibly moved between dispose
    /// scopes (<c>hn.MoveToOuterDisposeScope()</c>, <c>hn?.DetachFromDisposeScope()</c>) — not a computation.
    /// </summary>
    private static IOperation? DetachTarget(IOperation value, TorchSharpSymbols symbols)
    {
        value = value.WithoutConversions();
        if (value is IConditionalAccessOperation { WhenNotNull: IInvocationOperation move } access && IsScopeMove(move, symbols))
        {
            value = access.Operation.WithoutConversions();
        }

        while (value is IInvocationOperation invocation && IsScopeMove(invocation, symbols) && invocation.Instance is { } instance)
        {
            value = instance.WithoutConversions();
        }

        return symbols.IsTensor(value.Type) && IsReference(value) && value.Syntax is ExpressionSyntax ? value : null;
    }

    private static bool IsReference(IOperation value) => value switch
    {
        ILocalReferenceOperation or IParameterReferenceOperation => true,
        IFieldReferenceOperation field => field.Instance is null || IsReference(field.Instance.WithoutConversions()) || field.Instance is IInstanceReferenceOperation,
        IPropertyReferenceOperation { Arguments.IsEmpty: true } property => property.Instance is null || property.Instance is IInstanceReferenceOperation || IsReference(property.Instance.WithoutConversions()),
        _ => false,
    };

    private static bool IsScopeMove(IInvocationOperation invocation, TorchSharpSymbols symbols) =>
        invocation.TargetMethod.Name is "MoveToOuterDisposeScope" or "DetachFromDisposeScope" && invocation.Arguments.IsEmpty && symbols.IsTensor(invocation.TargetMethod.ContainingType);

    private static StatementSyntax? LoopBody(SyntaxNode loop) => loop switch
    {
        ForStatementSyntax f => f.Statement,
        CommonForEachStatementSyntax f => f.Statement,
        WhileStatementSyntax w => w.Statement,
        DoStatementSyntax d => d.Statement,
        _ => null,
    };

    private static BlockSyntax? MethodBlock(SyntaxNode node) => node switch
    {
        BaseMethodDeclarationSyntax m => m.Body,
        AccessorDeclarationSyntax a => a.Body,
        LocalFunctionStatementSyntax l => l.Body,
        AnonymousFunctionExpressionSyntax f => f.Block,
        _ => null,
    };

    /// <summary>True when a statement after <paramref name="statement"/>, up to the end of <paramref name="scope"/>'s body, reads a carrier.</summary>
    private static bool ReadAfter(StatementSyntax statement, SyntaxNode scope, CarriedState carried, SemanticModel model, CancellationToken cancellationToken)
    {
        var members = new HashSet<ISymbol>(carried.Carriers.Select(c => c.Member), SymbolEqualityComparer.Default);
        for (SyntaxNode? node = statement; node is not null && node != scope; node = node.Parent)
        {
            if (node.Parent is not BlockSyntax block)
            {
                continue;
            }

            foreach (var later in block.Statements.SkipWhile(s => s != node).Skip(1))
            {
                foreach (var name in later.DescendantNodesAndSelf().OfType<SimpleNameSyntax>())
                {
                    if (model.GetSymbolInfo(name, cancellationToken).Symbol is { } symbol && members.Contains(symbol))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }
}
