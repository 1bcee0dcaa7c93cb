using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// A place where a TorchSharp recurrent module is created (<c>nn.RNN(...)</c>, <c>torch.nn.LSTM(...)</c>, a constructor),
/// and where the created module ends up: the field, property or local it is stored in, or the container it is passed into.
/// </summary>
internal sealed class RecurrentModuleCreation
{
    private RecurrentModuleCreation(IOperation operation, INamedTypeSymbol moduleType, ISymbol? storage, string? registeredName, bool registeredOnOwner)
    {
        Operation = operation;
        ModuleType = moduleType;
        Storage = storage;
        RegisteredName = registeredName;
        RegisteredOnOwner = registeredOnOwner;
    }

    /// <summary>The creating invocation or object creation.</summary>
    public IOperation Operation { get; }

    /// <summary>RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell.</summary>
    public INamedTypeSymbol ModuleType { get; }

    /// <summary>
    /// The field, property or local that holds the module, or that holds the container it was passed into
    /// (<c>var model = nn.Sequential(("rnn", nn.RNN(1, 64)))</c> gives <c>model</c>); null when it is not stored.
    /// </summary>
    public ISymbol? Storage { get; }

    /// <summary>The name the module is registered under in a container or with <c>register_module</c>, when that name is a constant.</summary>
    public string? RegisteredName { get; }

    /// <summary>True when the module is passed to <c>register_module</c> on the enclosing model.</summary>
    public bool RegisteredOnOwner { get; }

    /// <summary>True when the module is stored directly (not through a container) in <see cref="Storage"/>.</summary>
    public bool IsStoredDirectly => Storage is not null && RegisteredName is null;

    /// <summary>The name a user recognises the module by: its field, property or variable, else its registered name, else its type.</summary>
    public string DisplayName => IsStoredDirectly ? Storage!.Name : RegisteredName ?? Storage?.Name ?? ModuleType.Name;

    /// <summary>Recognises a creation of a TorchSharp recurrent module by symbol: a <c>torch.nn</c> factory or a constructor of the exact module type.</summary>
    public static RecurrentModuleCreation? TryCreate(IOperation operation, TorchSharpSymbols symbols)
    {
        INamedTypeSymbol? type = operation switch
        {
            IInvocationOperation invocation when invocation.TargetMethod.IsStatic
                && SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.ContainingType, symbols.Nn) => invocation.TargetMethod.ReturnType as INamedTypeSymbol,
            IObjectCreationOperation creation => creation.Type as INamedTypeSymbol,
            _ => null,
        };

        if (type is null || !symbols.RecurrentModuleTypes.Contains(type.OriginalDefinition))
        {
            return null;
        }

        var (storage, registeredName, onOwner) = FindStorage(operation, symbols);
        return new RecurrentModuleCreation(operation, type, storage, registeredName, onOwner);
    }

    /// <summary>
    /// Follows a module-valued expression up to where it is kept: a local, field or property it is assigned to,
    /// a container module it is passed into (followed further), or <c>register_module</c> on the enclosing model.
    /// </summary>
    public static (ISymbol? Storage, string? RegisteredName, bool RegisteredOnOwner) FindStorage(IOperation expression, TorchSharpSymbols symbols)
    {
        string? registeredName = null;
        var current = expression;
        while (current.Parent is { } parent)
        {
            switch (parent)
            {
                case IConversionOperation:
                case IParenthesizedOperation:
                case IConditionalOperation conditional when conditional.Condition != current:
                case ICoalesceOperation:
                case ISwitchExpressionArmOperation:
                case ISwitchExpressionOperation switchExpression when switchExpression.Value != current:
                    current = parent;
                    continue;
                case ITupleOperation tuple:
                    registeredName ??= ConstantName(tuple);
                    current = parent;
                    continue;
                case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                    return (declarator.Symbol, registeredName, false);
                case IFieldInitializerOperation fieldInitializer when fieldInitializer.InitializedFields.Length == 1:
                    return (fieldInitializer.InitializedFields[0], registeredName, false);
                case IPropertyInitializerOperation propertyInitializer when propertyInitializer.InitializedProperties.Length == 1:
                    return (propertyInitializer.InitializedProperties[0], registeredName, false);
                case ISimpleAssignmentOperation assignment when assignment.Value == current:
                    return (AssignedSymbol(assignment.Target), registeredName, false);
                case IArgumentOperation { Parent: IInvocationOperation call } when call.TargetMethod.Name == "register_module" && symbols.IsModule(call.TargetMethod.ContainingType):
                    return (null, registeredName ?? ConstantName(call), true);
                case IArgumentOperation { Parent: { } call } when (call is IInvocationOperation or IObjectCreationOperation) && symbols.IsModule(call.Type):
                    current = call;
                    continue;
                case IArrayElementReferenceOperation:
                case IArrayInitializerOperation:
                case IArrayCreationOperation:
                    current = parent;
                    continue;
                case IArgumentOperation { Parent: IInvocationOperation { TargetMethod.Name: "Add" } addition } when symbols.IsModule(addition.Instance?.Type):
                    return FindReceiverStorage(addition.Instance!, registeredName, symbols);
                default:
                    return (null, registeredName, false);
            }
        }

        return (null, registeredName, false);
    }

    private static (ISymbol? Storage, string? RegisteredName, bool RegisteredOnOwner) FindReceiverStorage(IOperation receiver, string? registeredName, TorchSharpSymbols symbols)
    {
        var root = receiver;
        while (root is IConversionOperation conversion)
        {
            root = conversion.Operand;
        }

        var symbol = AssignedSymbol(root);
        return symbol is null ? FindStorage(root, symbols) : (symbol, registeredName, false);
    }

    private static ISymbol? AssignedSymbol(IOperation target) => target switch
    {
        ILocalReferenceOperation local => local.Local,
        IFieldReferenceOperation field => field.Field,
        IPropertyReferenceOperation { Property.IsIndexer: false } property => property.Property,
        _ => null,
    };

    private static string? ConstantName(IOperation operation)
    {
        foreach (var child in operation.ChildOperations)
        {
            var value = child is IArgumentOperation argument ? argument.Value : child;
            if (value.ConstantValue is { HasValue: true, Value: string name })
            {
                return name;
            }
        }

        return null;
    }
}
