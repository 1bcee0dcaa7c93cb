using System.Collections.Concurrent;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// Which calibration entry describes the model a training step trains. The watch names an entry by the model's type
/// (<c>model.GetType().Name</c>) unless the run set <c>ModelName</c>, so an entry matches the step's model type
/// (<see cref="RecurrentModels.ModelType"/>) when its <c>model</c> is, ordinally:
/// <list type="bullet">
/// <item>the type's full name as .NET writes it (<c>MyLab.Models.Seq2One</c>, <c>MyLab.Trainer+Seq2One</c> for a nested
/// type) — a run that sets <c>ModelName = typeof(T).FullName</c> names its model unambiguously; or</item>
/// <item>its simple name (<c>Seq2One</c>, the default), unless another module type of the compilation's sources has that
/// name too: two models the file cannot tell apart get no entry rather than the wrong one.</item>
/// </list>
/// A generic model type matches nothing (the runtime writes <c>Seq`1</c> for <c>Seq&lt;LSTM&gt;</c> and
/// <c>Seq&lt;GRU&gt;</c> alike), and neither does a TorchSharp module used as the model itself (<c>Sequential</c>,
/// <c>LSTM</c>): its name says what kind of module it is, not which model. Answers are cached per type and file set.
/// </summary>
internal sealed class CalibratedModels
{
    private readonly TrainingProgram program;
    private readonly ConditionalWeakTable<CalibrationSet, ConcurrentDictionary<ITypeSymbol, StrongBox<CalibrationEntry?>>> matches = new();

    public CalibratedModels(TrainingProgram program)
    {
        this.program = program;
    }

    /// <summary>The entry of the model <paramref name="step"/> trains, or null (no file, no entry, or no single model type).</summary>
    public CalibrationEntry? EntryFor(TrainingStep step, CalibrationSet set, CancellationToken cancellationToken) =>
        set.IsEmpty ? null : EntryFor(program.Models.ModelType(step, cancellationToken), set, cancellationToken);

    /// <summary>
    /// The entry of the model a clip's parameters belong to: a clip of <c>encoder.parameters()</c> is judged by the
    /// encoder's entry (none when the encoder, or a submodule clipped on its own, has none), whichever steps it serves.
    /// Not known for parameters that are not one concrete model's (a <c>nn.Module&lt;Tensor, Tensor&gt;</c> of unknown
    /// value, <c>optimizer.parameters()</c>): then the steps' model decides.
    /// </summary>
    public (bool Known, CalibrationEntry? Entry) EntryForClip(IOperation root, IInvocationOperation clip, CalibrationSet set, CancellationToken cancellationToken) =>
        set.IsEmpty || clip.Arguments.FirstOrDefault(argument => argument.Parameter?.Ordinal == 0) is not { } parameters
            || program.Models.ModelTypeOfParameters(root, parameters.Value, cancellationToken) is not { IsAbstract: false, TypeKind: TypeKind.Class } type
            ? (false, null)
            : (true, EntryFor(type, set, cancellationToken));

    private CalibrationEntry? EntryFor(INamedTypeSymbol? type, CalibrationSet set, CancellationToken cancellationToken) =>
        type is null
            ? null
            : matches.GetValue(set, _ => new ConcurrentDictionary<ITypeSymbol, StrongBox<CalibrationEntry?>>(SymbolEqualityComparer.Default))
                .GetOrAdd(type, key => new StrongBox<CalibrationEntry?>(Match(key as INamedTypeSymbol, set, cancellationToken))).Value;

    private CalibrationEntry? Match(INamedTypeSymbol? type, CalibrationSet set, CancellationToken cancellationToken)
    {
        if (type is null || IsGeneric(type) || type.ContainingAssembly?.Name == "TorchSharp")
        {
            return null;
        }

        return set.Entry(FullName(type))
            ?? (set.Entry(type.Name) is { } entry && !HasNamesake(type, cancellationToken) ? entry : null);
    }

    private static bool IsGeneric(INamedTypeSymbol type)
    {
        for (var current = type; current is not null; current = current.ContainingType)
        {
            if (current.Arity > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Another module type of the compilation's sources with the same simple name.</summary>
    private bool HasNamesake(INamedTypeSymbol type, CancellationToken cancellationToken) =>
        program.Compilation.GetSymbolsWithName(type.Name, SymbolFilter.Type, cancellationToken)
            .OfType<INamedTypeSymbol>()
            .Any(other => !SymbolEqualityComparer.Default.Equals(other, type.OriginalDefinition) && program.Symbols.IsModule(other));

    /// <summary>The name <c>Type.FullName</c> gives a non-generic type: namespace, then containing types joined by '+'.</summary>
    private static string FullName(INamedTypeSymbol type)
    {
        var name = new StringBuilder(type.Name);
        for (var container = type.ContainingType; container is not null; container = container.ContainingType)
        {
            name.Insert(0, container.Name + "+");
        }

        return type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() + "." + name : name.ToString();
    }
}
