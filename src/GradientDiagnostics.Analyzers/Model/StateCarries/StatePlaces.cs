using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>Which <see cref="Place"/> an expression reads or writes, and the shape of a place as a carrier.</summary>
internal static class StatePlaces
{
    /// <summary>The operation under conversions, parentheses and <c>var (y, h) = …</c> declarations.</summary>
    public static IOperation Strip(IOperation operation)
    {
        operation = operation.WithoutConversions();
        while (operation is IDeclarationExpressionOperation declaration)
        {
            operation = declaration.Expression.WithoutConversions();
        }

        return operation;
    }

    public static Place? PlaceOf(IOperation operation, TorchSharpSymbols symbols)
    {
        switch (Strip(operation))
        {
            case ILocalReferenceOperation local:
                return new Place(null, local.Local);
            case IParameterReferenceOperation parameter:
                return new Place(null, parameter.Parameter);
            case IFlowCaptureReferenceOperation capture:
                return new Place(capture.Id);
            case IFieldReferenceOperation field when !field.Field.ContainingType.IsTupleType:
                return MemberPlace(field.Instance, field.Field);
            case IPropertyReferenceOperation property when property.Arguments.IsEmpty:
                return MemberPlace(property.Instance, property.Property);
            case IPropertyReferenceOperation { Property.IsIndexer: true, Instance: { } collection }:
                return ElementsOf(collection, symbols);
            case IArrayElementReferenceOperation element:
                return ElementsOf(element.ArrayReference, symbols);
            default:
                return null;
        }
    }

    /// <summary>
    /// The elements of a collection held in a field, property, local or parameter (<c>states[session]</c>), tracked as
    /// one place keyed by the collection. A tensor's own indexer selects values, it does not hold states.
    /// </summary>
    public static Place? ElementsOf(IOperation collection, TorchSharpSymbols symbols)
    {
        collection = Strip(collection);
        if (symbols.IsTensor(collection.Type))
        {
            return null;
        }

        ISymbol? holder = collection switch
        {
            IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } field => field.Field,
            IPropertyReferenceOperation { Instance: null or IInstanceReferenceOperation, Arguments.IsEmpty: true } property => property.Property,
            ILocalReferenceOperation local => local.Local,
            IParameterReferenceOperation parameter => parameter.Parameter,
            _ => null,
        };
        return holder is null ? null : new Place(holder, holder);
    }

    /// <summary>
    /// The shape the fix must detach a carrier in: a tuple (its arity), nullable or not. A <c>var</c> local is declared
    /// nullable; it is a plain tensor when its initializer is non-null (<c>var h = zeros(...)</c>).
    /// </summary>
    public static CarrierShape ShapeOf(ISymbol? member, ITypeSymbol? referenceType, SemanticModel? model, System.Threading.CancellationToken cancellationToken)
    {
        var type = member?.DeclaredType() ?? referenceType;
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
        {
            return nullable.TypeArguments[0] is INamedTypeSymbol { IsTupleType: true } inner
                ? new CarrierShape(StateShape.NullableTuple, inner.TupleElements.Length)
                : new CarrierShape(StateShape.NullableTensor, 1);
        }

        if (type is INamedTypeSymbol { IsTupleType: true } tuple)
        {
            return new CarrierShape(StateShape.Tuple, tuple.TupleElements.Length);
        }

        var nonNull = type?.NullableAnnotation == NullableAnnotation.NotAnnotated || (member is ILocalSymbol local && InitializedNonNullWithVar(local, model, cancellationToken));
        return new CarrierShape(nonNull ? StateShape.Tensor : StateShape.NullableTensor, 1);
    }

    private static Place? MemberPlace(IOperation? instance, ISymbol member)
    {
        switch (instance is null ? null : Strip(instance))
        {
            case null:
            case IInstanceReferenceOperation:
                return new Place(null, member);
            case ILocalReferenceOperation local:
                return new Place(local.Local, member);
            case IParameterReferenceOperation parameter:
                return new Place(parameter.Parameter, member);
            case IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } field:
                return new Place(field.Field, member);
            default:
                return null;
        }
    }

    private static bool InitializedNonNullWithVar(ILocalSymbol local, SemanticModel? model, System.Threading.CancellationToken cancellationToken)
    {
        foreach (var reference in local.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is VariableDeclaratorSyntax { Initializer.Value: { } value, Parent: VariableDeclarationSyntax { Type.IsVar: true } }
                && model is not null && value.SyntaxTree == model.SyntaxTree)
            {
                return model.GetTypeInfo(value, cancellationToken).Nullability.FlowState == NullableFlowState.NotNull;
            }
        }

        return false;
    }
}
