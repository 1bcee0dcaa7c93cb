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
    public static IEnumerable<AssignedValue> To(ISymbol symbol, IOperation root)
    {
        foreach (var operation in root.DescendantsAndSelf())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation declarator when SymbolEqualityComparer.Default.Equals(declarator.Symbol, symbol):
                    if (declarator.GetVariableInitializer() is { } initializer)
                    {
                        yield return new AssignedValue(initializer.Value, AssignmentKind.Initializer, declarator);
                    }

                    break;
                case ISimpleAssignmentOperation assignment when SymbolEqualityComparer.Default.Equals(assignment.Target.ReferencedSymbol(), symbol):
                    yield return new AssignedValue(assignment.Value, AssignmentKind.Assignment, assignment);
                    break;
                case ICoalesceAssignmentOperation coalesce when SymbolEqualityComparer.Default.Equals(coalesce.Target.ReferencedSymbol(), symbol):
                    yield return new AssignedValue(coalesce.Value, AssignmentKind.CoalesceAssignment, coalesce);
                    break;
                case IDeconstructionAssignmentOperation deconstruction when ElementOf(deconstruction.Target, symbol) is var element and >= 0:
                    yield return new AssignedValue(deconstruction.Value, AssignmentKind.Deconstruction, deconstruction, element);
                    break;
                case IForEachLoopOperation loop when symbol is ILocalSymbol local && Declares(loop, local):
                    yield return new AssignedValue(loop.Collection, AssignmentKind.ForEach, loop);
                    break;
                case IDeclarationPatternOperation pattern when SymbolEqualityComparer.Default.Equals(pattern.DeclaredSymbol, symbol) && MatchedValue(pattern) is { } matched:
                    yield return new AssignedValue(matched, AssignmentKind.Pattern, pattern);
                    break;
            }
        }
    }

    /// <summary>The position of <paramref name="symbol"/> among the top-level elements of a deconstruction target; -1 when absent.</summary>
    private static int ElementOf(IOperation target, ISymbol symbol)
    {
        target = target is IDeclarationExpressionOperation declaration ? declaration.Expression : target;
        if (target is not ITupleOperation tuple)
        {
            return -1;
        }

        for (var i = 0; i < tuple.Elements.Length; i++)
        {
            foreach (var reference in tuple.Elements[i].DescendantsAndSelf())
            {
                if (reference is ILocalReferenceOperation or IFieldReferenceOperation or IPropertyReferenceOperation or IParameterReferenceOperation
                    && SymbolEqualityComparer.Default.Equals(reference.ReferencedSymbol(), symbol))
                {
                    return i;
                }
            }
        }

        return -1;
    }

    private static bool Declares(IForEachLoopOperation loop, ILocalSymbol local)
    {
        foreach (var declared in loop.Locals)
        {
            if (SymbolEqualityComparer.Default.Equals(declared, local))
            {
                return true;
            }
        }

        return false;
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
