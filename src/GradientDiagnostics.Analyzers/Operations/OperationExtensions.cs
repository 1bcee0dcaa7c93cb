using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The operation helpers every part of the analyzer shares: unwrapping, roots, enclosing functions and loops, the symbol
/// an expression reads, tuple elements. One copy each, so "what is the loop around this call" has one answer.
/// </summary>
internal static class OperationExtensions
{
    /// <summary>The operation under implicit and explicit conversions and parentheses.</summary>
    public static IOperation WithoutConversions(this IOperation operation)
    {
        while (true)
        {
            switch (operation)
            {
                case IConversionOperation conversion:
                    operation = conversion.Operand;
                    break;
                case IParenthesizedOperation parenthesized:
                    operation = parenthesized.Operand;
                    break;
                default:
                    return operation;
            }
        }
    }

    /// <summary>The value of a numeric constant (a literal, a named constant, a constant expression) as a double; null otherwise.</summary>
    public static double? ConstantDouble(this IOperation operation) =>
        !operation.ConstantValue.HasValue ? null : operation.ConstantValue.Value switch
        {
            double value => value,
            float value => value,
            int value => value,
            long value => value,
            decimal value => (double)value,
            _ => null,
        };

    /// <summary>The top of the operation tree: the method body, field initializer or top-level statements the operation is in.</summary>
    public static IOperation Root(this IOperation operation)
    {
        while (operation.Parent is { } parent)
        {
            operation = parent;
        }

        return operation;
    }

    /// <summary>The innermost lambda or local function containing the operation, or <paramref name="root"/>.</summary>
    public static IOperation EnclosingFunction(this IOperation operation, IOperation root)
    {
        for (var current = operation.Parent; current is not null && current != root; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                return current;
            }
        }

        return root;
    }

    /// <summary>
    /// The constructs between the operation and <paramref name="boundary"/> that make reaching it depend on a condition — a
    /// branch, a loop, a callback, a handler, a short-circuit — innermost first.
    /// </summary>
    public static IEnumerable<IOperation> ConditionsWithin(this IOperation operation, IOperation boundary)
    {
        for (var current = operation.Parent; current is not null && current != boundary; current = current.Parent)
        {
            switch (current)
            {
                case IConditionalOperation or ISwitchOperation or ISwitchExpressionOperation or IConditionalAccessOperation or ICoalesceOperation
                    or ILoopOperation or IAnonymousFunctionOperation or ILocalFunctionOperation or ICatchClauseOperation:
                case IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr }:
                    yield return current;
                    break;
            }
        }
    }

    /// <summary>Loops whose body contains the operation, innermost first, within its enclosing function (up to <paramref name="root"/>).</summary>
    public static IEnumerable<ILoopOperation> EnclosingLoops(this IOperation operation, IOperation? root = null)
    {
        var child = operation;
        for (var current = operation.Parent; current is not null && current != root; child = current, current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                yield break;
            }

            if (current is ILoopOperation loop && loop.Body == child)
            {
                yield return loop;
            }
        }
    }

    /// <summary>
    /// The resources disposed after the operation runs, innermost first: those of the <c>using (…)</c> statements whose body
    /// holds it and of the <c>using var</c> declarations before it in the blocks around it. Lambdas and local functions are
    /// looked through: code in them usually runs where they are written (<c>Select</c>, a local helper).
    /// </summary>
    public static IEnumerable<IOperation> EnclosingUsingResources(this IOperation operation)
    {
        var child = operation;
        for (var current = operation.Parent; current is not null; child = current, current = current.Parent)
        {
            switch (current)
            {
                case IUsingOperation @using when @using.Body == child:
                    yield return @using.Resources;
                    break;
                case IBlockOperation block:
                    foreach (var statement in block.Operations)
                    {
                        if (statement == child)
                        {
                            break;
                        }

                        if (statement is IUsingDeclarationOperation declaration)
                        {
                            yield return declaration.DeclarationGroup;
                        }
                    }

                    break;
            }
        }
    }

    /// <summary>True when <paramref name="inner"/>'s syntax lies within <paramref name="outer"/>'s.</summary>
    public static bool Contains(this IOperation outer, IOperation inner) =>
        outer.Syntax.SyntaxTree == inner.Syntax.SyntaxTree && outer.Syntax.Span.Contains(inner.Syntax.Span);

    /// <summary>The local, parameter, field or (non-indexer) property an expression reads or assigns, or null.</summary>
    public static ISymbol? ReferencedSymbol(this IOperation? operation) => operation?.WithoutConversions() switch
    {
        ILocalReferenceOperation local => local.Local,
        IParameterReferenceOperation parameter => parameter.Parameter,
        IFieldReferenceOperation field => field.Field,
        IPropertyReferenceOperation { Property.IsIndexer: false } property => property.Property,
        IDeclarationExpressionOperation { Expression: ILocalReferenceOperation local } => local.Local,
        _ => null,
    };

    /// <summary>The declared type of a local, parameter, field or property.</summary>
    public static ITypeSymbol? DeclaredType(this ISymbol symbol) => symbol switch
    {
        ILocalSymbol local => local.Type,
        IParameterSymbol parameter => parameter.Type,
        IFieldSymbol field => field.Type,
        IPropertySymbol property => property.Type,
        _ => null,
    };

    /// <summary>The zero-based position of a tuple element field (<c>Item2</c> or a named element) in its tuple; -1 for other fields.</summary>
    public static int TupleElementIndex(this IFieldSymbol field)
    {
        var element = field.CorrespondingTupleField ?? field;
        return element.Name.StartsWith("Item", System.StringComparison.Ordinal) && int.TryParse(element.Name.Substring(4), out var n) ? n - 1 : -1;
    }

    /// <summary>The instance an invocation is made on, through a conditional access (<c>lstm?.forward(x)</c> gives <c>lstm</c>); null for a static call.</summary>
    public static IOperation? Receiver(this IInvocationOperation invocation)
    {
        var receiver = invocation.Instance?.WithoutConversions();
        if (receiver is IConditionalAccessInstanceOperation)
        {
            for (var current = invocation.Parent; current is not null; current = current.Parent)
            {
                if (current is IConditionalAccessOperation conditional)
                {
                    return conditional.Operation.WithoutConversions();
                }
            }
        }

        return receiver;
    }

    /// <summary>The invocations within an operation (itself included), in tree order.</summary>
    public static IEnumerable<IInvocationOperation> Invocations(this IOperation operation)
    {
        foreach (var descendant in operation.DescendantsAndSelf())
        {
            if (descendant is IInvocationOperation invocation)
            {
                yield return invocation;
            }
        }
    }
}
