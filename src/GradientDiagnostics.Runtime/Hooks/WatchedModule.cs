using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics.Hooks;

/// <summary>
/// One recurrent module of a watched model, and what the watch learns about it: a hooked <c>nn.RNN</c>, <c>nn.LSTM</c> or
/// <c>nn.GRU</c>, or an <c>RNNCell</c>, <c>LSTMCell</c> or <c>GRUCell</c>, which runs one timestep per call and is profiled
/// only through <c>TrackState</c>.
/// </summary>
internal sealed class WatchedModule
{
    private WatchedModule(string name, nn.Module module, string parameterPrefix)
    {
        Name = name;
        Module = module;
        Kind = module switch
        {
            LSTM or LSTMCell => RecurrentKind.Lstm,
            GRU or GRUCell => RecurrentKind.Gru,
            _ => RecurrentKind.Vanilla,
        };
        var parameters = module.named_parameters().ToList();
        ParameterNames = parameters.Select(p => parameterPrefix + p.name).ToArray();

        // weight_ih_l0 is (gates × hidden, input features): what a packed input fed to this module must have.
        InputSize = parameters.Where(p => p.name == "weight_ih_l0").Select(p => p.parameter.shape[^1]).FirstOrDefault(-1);
    }

    /// <summary>The module's name from <c>named_modules()</c>, or the model's type name when the model is the module.</summary>
    public string Name { get; }

    public nn.Module Module { get; }

    public RecurrentKind Kind { get; }

    /// <summary>The names its parameters have in the watched model's <c>named_parameters()</c>.</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <summary>An <c>RNNCell</c>, <c>LSTMCell</c> or <c>GRUCell</c>: never hooked, profiled through tracked states.</summary>
    public bool IsCell => Module is RNNCell or LSTMCell or GRUCell;

    /// <summary>Features per timestep of its input; -1 when unknown.</summary>
    public long InputSize { get; }

    /// <summary>
    /// 0 (time first) or 1 (batch first), once a call has shown it. TorchSharp 0.107.0 keeps <c>batch_first</c> in a private
    /// field and exposes it nowhere, so the layout is read from the call itself (<see cref="Capture.TimeLayout"/>); a
    /// module's layout never changes, so one call settles it.
    /// </summary>
    public int? TimeDimension { get; set; }

    /// <summary>The alias handed to the module by the pre-hook, until the post-hook confirms the call completed.</summary>
    public Tensor? Pending { get; set; }

    /// <summary>
    /// The name of a recurrent module of <paramref name="model"/> that holds no parameters, or null. Every RNN, LSTM, GRU
    /// and cell has weights, so one without is disposed: TorchSharp's <c>Dispose</c> drops a module's parameters but keeps
    /// its submodules listed.
    /// </summary>
    public static string? FirstDisposed(nn.Module model) =>
        model.named_modules()
            .Prepend((model.GetType().Name, model))
            .Where(m => m.Item2 is RNN or LSTM or GRU or RNNCell or LSTMCell or GRUCell && !m.Item2.parameters().Any())
            .Select(m => m.Item1)
            .FirstOrDefault();

    /// <summary>
    /// The RNN, LSTM and GRU modules of <paramref name="model"/> (the model itself included), in <c>named_modules()</c> order;
    /// its cells in <paramref name="cells"/>.
    /// </summary>
    public static List<WatchedModule> FindIn(nn.Module model, out List<WatchedModule> cells, out RecurrentKind cellKind)
    {
        // TorchSharp's named_modules() lists descendants only; a bare nn.LSTM passed as the model is watched too.
        var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { model };
        var tree = new List<(string Name, nn.Module Module, string Prefix)> { (model.GetType().Name, model, "") };
        foreach (var (name, module) in model.named_modules())
        {
            if (seen.Add(module))
            {
                tree.Add((name, module, name + "."));
            }
        }

        cells = tree.Where(m => m.Module is RNNCell or LSTMCell or GRUCell).Select(m => new WatchedModule(m.Name, m.Module, m.Prefix)).ToList();
        cellKind = cells.Count == 0 || cells.Any(c => c.Module is RNNCell) ? RecurrentKind.Vanilla
            : cells.All(c => c.Module is LSTMCell) ? RecurrentKind.Lstm
            : cells.All(c => c.Module is GRUCell) ? RecurrentKind.Gru
            : RecurrentKind.Gated;
        return tree.Where(m => m.Module is RNN or LSTM or GRU).Select(m => new WatchedModule(m.Name, m.Module, m.Prefix)).ToList();
    }
}
