using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// The TorchSharp symbols the rules recognise, resolved once per compilation (lazily: <see cref="IsReferenced"/> decides
/// whether a compilation is worth registering anything for, from its reference list alone, without binding it).
/// <see cref="TryCreate"/> returns null when the compilation does not reference TorchSharp.
/// </summary>
internal sealed class TorchSharpSymbols
{
    private const string AssemblyName = "TorchSharp";

    /// <summary>The name every backward() call is written with: what a text search for a training step looks for.</summary>
    public static readonly string[] BackwardNames = ["backward"];

    private TorchSharpSymbols(Compilation compilation, INamedTypeSymbol? torch, INamedTypeSymbol? tensor)
    {
        Compilation = compilation;
        Torch = torch;
        Tensor = tensor;

        // Looked up in TorchSharp's own assembly: a compilation-wide lookup searches every reference, for every name.
        var assembly = torch?.ContainingAssembly ?? compilation.Assembly;
        Module = assembly.GetTypeByMetadataName("TorchSharp.torch+nn+Module");
        Nn = assembly.GetTypeByMetadataName("TorchSharp.torch+nn");
        NnUtils = assembly.GetTypeByMetadataName("TorchSharp.torch+nn+utils");
        NnInit = assembly.GetTypeByMetadataName("TorchSharp.torch+nn+init");
        Optim = assembly.GetTypeByMetadataName("TorchSharp.torch+optim");
        Optimizer = assembly.GetTypeByMetadataName("TorchSharp.torch+optim+Optimizer");
        Parameter = assembly.GetTypeByMetadataName("TorchSharp.Modules.Parameter");
        Rnn = assembly.GetTypeByMetadataName("TorchSharp.Modules.RNN");
        Lstm = assembly.GetTypeByMetadataName("TorchSharp.Modules.LSTM");
        Gru = assembly.GetTypeByMetadataName("TorchSharp.Modules.GRU");
        RnnCell = assembly.GetTypeByMetadataName("TorchSharp.Modules.RNNCell");
        LstmCell = assembly.GetTypeByMetadataName("TorchSharp.Modules.LSTMCell");
        GruCell = assembly.GetTypeByMetadataName("TorchSharp.Modules.GRUCell");
        RnnUtils = assembly.GetTypeByMetadataName("TorchSharp.torch+nn+utils+rnn");
        PackedSequence = RnnUtils?.GetTypeMembers("PackedSequence").FirstOrDefault();
        AdaptiveGradientClipper = compilation.SourceModule.ReferencedAssemblySymbols
            .FirstOrDefault(referenced => referenced.Name == WatchCoverage.RuntimeAssemblyName)?
            .GetTypeByMetadataName("GradientDiagnostics.AdaptiveGradientClipper");

        var recurrent = ImmutableHashSet.CreateBuilder<INamedTypeSymbol>(SymbolEqualityComparer.Default);
        foreach (var type in new[] { Rnn, Lstm, Gru, RnnCell, LstmCell, GruCell })
        {
            if (type is not null)
            {
                recurrent.Add(type);
            }
        }

        RecurrentModuleTypes = recurrent.ToImmutable();
    }

    public Compilation Compilation { get; }

    /// <summary><c>TorchSharp.torch</c>, the static class every factory hangs off.</summary>
    public INamedTypeSymbol? Torch { get; }

    /// <summary><c>TorchSharp.torch.Tensor</c>.</summary>
    public INamedTypeSymbol? Tensor { get; }

    /// <summary><c>TorchSharp.torch.nn.Module</c> (non-generic base of every module).</summary>
    public INamedTypeSymbol? Module { get; }

    public INamedTypeSymbol? Nn { get; }

    public INamedTypeSymbol? NnUtils { get; }

    public INamedTypeSymbol? NnInit { get; }

    public INamedTypeSymbol? Optim { get; }

    /// <summary><c>TorchSharp.torch.optim.Optimizer</c>, base of Adam, SGD, RMSProp, …</summary>
    public INamedTypeSymbol? Optimizer { get; }

    public INamedTypeSymbol? Parameter { get; }

    /// <summary><c>GradientDiagnostics.AdaptiveGradientClipper</c>, when the compilation references GradientDiagnostics.Runtime.</summary>
    public INamedTypeSymbol? AdaptiveGradientClipper { get; }

    public INamedTypeSymbol? Rnn { get; }

    public INamedTypeSymbol? Lstm { get; }

    public INamedTypeSymbol? Gru { get; }

    public INamedTypeSymbol? RnnCell { get; }

    public INamedTypeSymbol? LstmCell { get; }

    public INamedTypeSymbol? GruCell { get; }

    /// <summary><c>TorchSharp.torch.nn.utils.rnn</c>: packing and padding of variable-length sequences.</summary>
    public INamedTypeSymbol? RnnUtils { get; }

    /// <summary><c>TorchSharp.torch.nn.utils.rnn.PackedSequence</c>.</summary>
    public INamedTypeSymbol? PackedSequence { get; }

    /// <summary>RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell.</summary>
    public ImmutableHashSet<INamedTypeSymbol> RecurrentModuleTypes { get; }

    /// <summary>
    /// True when the compilation references TorchSharp (or is TorchSharp): read from the reference list, which costs nothing,
    /// where resolving a type would bind every reference of a compilation that may have nothing to do with TorchSharp.
    /// </summary>
    public static bool IsReferenced(Compilation compilation) =>
        compilation.AssemblyName == AssemblyName
        || compilation.References.Any(reference => reference switch
        {
            CompilationReference { Compilation.AssemblyName: AssemblyName } => true,
            PortableExecutableReference { FilePath: { } path } => string.Equals(System.IO.Path.GetFileNameWithoutExtension(path), AssemblyName, System.StringComparison.OrdinalIgnoreCase),
            _ => false,
        });

    /// <summary>The symbols of a compilation <see cref="IsReferenced"/> accepted; every predicate is false when TorchSharp's types are missing.</summary>
    public static TorchSharpSymbols Resolve(Compilation compilation)
    {
        // TorchSharp is a referenced assembly (or, when compiling TorchSharp itself, the source assembly).
        var assembly = compilation.SourceModule.ReferencedAssemblySymbols.FirstOrDefault(a => a.Name == AssemblyName) ?? compilation.Assembly;
        var torch = assembly.GetTypeByMetadataName("TorchSharp.torch");
        return new TorchSharpSymbols(compilation, torch, torch?.ContainingAssembly.GetTypeByMetadataName("TorchSharp.torch+Tensor"));
    }

    public static TorchSharpSymbols? TryCreate(Compilation compilation) =>
        IsReferenced(compilation) && Resolve(compilation) is { Torch: not null, Tensor: not null } symbols ? symbols : null;

    public bool IsTensor(ITypeSymbol? type) => type is not null && Tensor is not null && InheritsFromOrEquals(type, Tensor);

    public bool IsOptimizer(ITypeSymbol? type) => type is not null && Optimizer is not null && InheritsFromOrEquals(type, Optimizer);

    public bool IsModule(ITypeSymbol? type) => type is not null && Module is not null && InheritsFromOrEquals(type, Module);

    /// <summary>True for the TorchSharp recurrent module types and anything derived from them (not for user types merely named LSTM).</summary>
    public bool IsRecurrentModule(ITypeSymbol? type)
    {
        for (var current = type as INamedTypeSymbol; current is not null; current = current.BaseType)
        {
            if (RecurrentModuleTypes.Contains(current.OriginalDefinition))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// <c>nn.RNN</c>, <c>nn.LSTM</c> and <c>nn.GRU</c>: the recurrent modules that run a whole sequence per call (not the
    /// cells), and the ones GradientDiagnostics.Runtime's watch hooks. TorchSharp seals all three.
    /// </summary>
    public bool IsRecurrentLayer(ITypeSymbol? type) => IsExactly(type, Rnn) || IsExactly(type, Lstm) || IsExactly(type, Gru);

    public bool IsPackedSequence(ITypeSymbol? type) => IsExactly(type, PackedSequence);

    /// <summary><c>pack_padded_sequence</c>, <c>pack_sequence</c>, …: a static method of <c>nn.utils.rnn</c> that builds a <c>PackedSequence</c>.</summary>
    public bool IsPacking(IMethodSymbol method) => method.IsStatic && IsExactly(method.ContainingType, RnnUtils) && IsPackedSequence(method.ReturnType);

    public bool IsVanillaRecurrentModule(ITypeSymbol? type) => IsExactly(type, Rnn) || IsExactly(type, RnnCell);

    public bool IsLstmModule(ITypeSymbol? type) => IsExactly(type, Lstm) || IsExactly(type, LstmCell);

    /// <summary><c>call</c> or <c>forward</c> on a module: how a module is invoked.</summary>
    public bool IsModuleInvocation(IMethodSymbol method) => method.Name is "call" or "forward" && IsModule(method.ContainingType);

    /// <summary>True for the static <c>torch</c> factories (<c>zeros</c>, <c>randn</c>, …): a tensor with no autograd history.</summary>
    public bool IsTorchFactory(IMethodSymbol method) => method.IsStatic && IsExactly(method.ContainingType, Torch);

    /// <summary><c>torch.no_grad()</c> / <c>torch.inference_mode()</c>.</summary>
    public bool DisablesGradients(IMethodSymbol method) => method.Name is "no_grad" or "inference_mode" && IsExactly(method.ContainingType, Torch);

    /// <summary><c>Tensor.backward()</c>, either overload.</summary>
    public bool IsBackward(IMethodSymbol method) => method.Name == "backward" && IsTensor(method.ContainingType);

    /// <summary><c>Tensor.detach()</c> / <c>detach_()</c>; not DetachFromDisposeScope, which is a memory-scope call.</summary>
    public bool IsDetach(IMethodSymbol method) => (method.Name == "detach" || method.Name == "detach_") && IsTensor(method.ContainingType);

    /// <summary><c>step</c> on any TorchSharp optimizer (including user-derived optimizers).</summary>
    public bool IsOptimizerStep(IMethodSymbol method) => method.Name == "step" && IsOptimizer(method.ContainingType);

    /// <summary><c>zero_grad</c> on an optimizer or a module.</summary>
    public bool IsZeroGrad(IMethodSymbol method) => method.Name == "zero_grad" && (IsOptimizer(method.ContainingType) || IsModule(method.ContainingType));

    /// <summary><c>torch.nn.utils.clip_grad_norm_</c> / <c>clip_grad_value_</c>.</summary>
    public bool IsClipGrad(IMethodSymbol method) =>
        (method.Name == "clip_grad_norm_" || method.Name == "clip_grad_value_") && IsExactly(method.ContainingType, NnUtils);

    /// <summary><c>AdaptiveGradientClipper.Clip()</c>: clipping by the global norm at a threshold the clipper sets.</summary>
    public bool IsAdaptiveClip(IMethodSymbol method) => method.Name == "Clip" && IsExactly(method.ContainingType, AdaptiveGradientClipper);

    /// <summary>Any <c>torch.nn.init.*</c> method.</summary>
    public bool IsNnInit(IMethodSymbol method) => IsExactly(method.ContainingType, NnInit);

    private static bool IsExactly(ITypeSymbol? type, INamedTypeSymbol? expected) =>
        type is not null && expected is not null && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, expected);

    private static bool InheritsFromOrEquals(ITypeSymbol type, INamedTypeSymbol expected)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, expected))
            {
                return true;
            }
        }

        return false;
    }
}
