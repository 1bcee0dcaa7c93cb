using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>How a value reaches a symbol.</summary>
internal enum AssignmentKind
{
    /// <summary><c>var x = value</c> (or a shared initializer of <c>int a, b = value</c>).</summary>
    Initializer,

    /// <summary><c>x = value</c>.</summary>
    Assignment,

    /// <summary><c>x ??= value</c>.</summary>
    CoalesceAssignment,

    /// <summary><c>(x, y) = value</c> or <c>var (x, y) = value</c>: <see cref="AssignedValue.Element"/> is the position of the symbol.</summary>
    Deconstruction,

    /// <summary><c>foreach (var x in value)</c>: the value is the collection.</summary>
    ForEach,

    /// <summary><c>value is T x</c>, <c>case T x</c>, a switch-expression arm: the value is what was matched.</summary>
    Pattern,
}

/// <summary>One value that reaches a symbol, and how.</summary>
internal readonly struct AssignedValue
{
    public AssignedValue(IOperation value, AssignmentKind kind, IOperation origin, int element = -1)
    {
        Value = value;
        Kind = kind;
        Origin = origin;
        Element = element;
    }

    /// <summary>The assigned expression (not unwrapped).</summary>
    public IOperation Value { get; }

    public AssignmentKind Kind { get; }

    /// <summary>The declarator, assignment, loop or pattern that assigns.</summary>
    public IOperation Origin { get; }

    /// <summary>For a deconstruction, the tuple position the symbol takes; otherwise -1.</summary>
    public int Element { get; }
}

/// <summary>"Which values are assigned to this symbol in this body": the one walk every part of the model uses.</summary>
internal static class AssignedValues
{
    /// <summary>Every (symbol, value) assignment in <paramref name="root"/>, in one walk.</summary>
    public static IEnumerable<(ISymbol Symbol, AssignedValue Value)> All(IOperation root)
    {
        foreach (var operation in root.DescendantsAndSelf())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation declarator:
                    if (declarator.GetVariableInitializer() is { } initializer)
                    {
                        yield return (declarator.Symbol, new AssignedValue(initializer.Value, AssignmentKind.Initializer, declarator));
                    }

                    break;
                case ISimpleAssignmentOperation assignment when assignment.Target.ReferencedSymbol() is { } target:
                    yield return (target, new AssignedValue(assignment.Value, AssignmentKind.Assignment, assignment));
                    break;
                case ICoalesceAssignmentOperation coalesce when coalesce.Target.ReferencedSymbol() is { } target:
                    yield return (target, new AssignedValue(coalesce.Value, AssignmentKind.CoalesceAssignment, coalesce));
                    break;
                case IDeconstructionAssignmentOperation deconstruction:
                    foreach (var (target, element) in Elements(deconstruction.Target))
                    {
                        yield return (target, new AssignedValue(deconstruction.Value, AssignmentKind.Deconstruction, deconstruction, element));
                    }

                    break;
                case IForEachLoopOperation loop:
                    foreach (var local in loop.Locals)
                    {
                        yield return (local, new AssignedValue(loop.Collection, AssignmentKind.ForEach, loop));
                    }

                    break;
                case IDeclarationPatternOperation { DeclaredSymbol: { } declared } pattern when MatchedValue(pattern) is { } matched:
                    yield return (declared, new AssignedValue(matched, AssignmentKind.Pattern, pattern));
                    break;
            }
        }
    }

    /// <summary>The symbols a deconstruction assigns, each with its position among the top-level tuple elements.</summary>
    private static IEnumerable<(ISymbol Symbol, int Element)> Elements(IOperation target)
    {
        target = target is IDeclarationExpressionOperation declaration ? declaration.Expression : target;
        if (target is not ITupleOperation tuple)
        {
            yield break;
        }

        for (var i = 0; i < tuple.Elements.Length; i++)
        {
            foreach (var reference in tuple.Elements[i].DescendantsAndSelf())
            {
                if (reference is ILocalReferenceOperation or IFieldReferenceOperation or IPropertyReferenceOperation or IParameterReferenceOperation
                    && reference.ReferencedSymbol() is { } symbol)
                {
                    yield return (symbol, i);
                }
            }
        }
    }

    /// <summary>The value tested by <c>x is T t</c>, <c>case T t:</c> or a switch-expression arm.</summary>
    private static IOperation? MatchedValue(IPatternOperation pattern)
    {
        IOperation? current = pattern;
        while (current?.Parent is IPatternOperation)
        {
            current = current.Parent;
        }

        return current?.Parent switch
        {
            IIsPatternOperation isPattern => isPattern.Value,
            IPatternCaseClauseOperation { Parent: ISwitchCaseOperation { Parent: ISwitchOperation switchStatement } } => switchStatement.Value,
            ISwitchExpressionArmOperation { Parent: ISwitchExpressionOperation switchExpression } => switchExpression.Value,
            _ => null,
        };
    }
}
