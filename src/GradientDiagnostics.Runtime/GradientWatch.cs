using System.Globalization;
using System.Reflection;
using GradientDiagnostics.Calibration;
using GradientDiagnostics.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics;

/// <summary>
/// Watches the gradients of a TorchSharp recurrent model: per-parameter norms, the global norm, and the gradient
/// reaching every timestep of every recurrent module call, with vanishing / exploding / non-finite detection.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Attach"/> registers forward pre- and post-hooks on every <c>nn.RNN</c>, <c>nn.LSTM</c> and <c>nn.GRU</c>
/// in the model. TorchSharp runs hooks only when a module is invoked through <c>call()</c>; a module invoked through
/// <c>forward()</c> is invisible to the watch. Packed-sequence calls are not profiled.
/// </para>
/// <para>
/// The pre-hook hands the module an autograd alias of its input and retains that alias's gradient, so the norm per
/// timestep of dL/dx_t is read after <c>backward()</c>. An input that already requires grad (e.g. an embedding's output)
/// is aliased through an identity view: the gradient flowing back to it, and on to every earlier layer, is bitwise
/// the same. An input that does not require grad (raw data) has no autograd history to cut, so a detached alias that
/// requires grad is used; that adds the input-gradient computation of the first layer and changes no parameter
/// gradient. The caller's tensors are never modified.
/// </para>
/// <para>
/// Hand-unrolled cell loops (<c>RNNCell</c>, <c>LSTMCell</c>, <c>GRUCell</c>) register each state with
/// <see cref="TrackState"/>.
/// </para>
/// </remarks>
public sealed class GradientWatch : IDisposable
{
    /// <summary>Bounds what a watch holds when forward passes run without a matching <see cref="Record"/> (e.g. validation with grad enabled).</summary>
    internal const int MaxCapturesPerStep = 256;

    /// <summary>Bounds the states <see cref="TrackState"/> holds between two <see cref="Record"/> calls.</summary>
    internal const int MaxTrackedStatesPerStep = 65536;

    private const string DefaultStateName = "state";
    private const int MaxNamedParameters = 10;

    private readonly object gate = new();
    private readonly nn.Module model;
    private readonly ILogger logger;
    private readonly List<Action> hookRemovers = new();
    private readonly List<ModuleCapture> captures = new();
    private readonly Dictionary<string, int> callCounts = new(StringComparer.Ordinal);
    private readonly List<TrackedProfile> trackedProfiles = new();
    private readonly Queue<double> recentGlobalNorms = new();
    private double recentGlobalNormSum;
    private readonly List<WatchedModule> watchedModules = new();
    private readonly CalibrationRecorder calibration = new();
    private AdaptiveGradientClipper? clipper;

    /// <summary>The model's cells are all LSTMCell/GRUCell, so a vanishing tracked state gets the gated-cell remedy.</summary>
    private readonly bool trackedStatesAreGated;
    private int trackedStateCount;
    private long recordCount;
    private bool captureLimitLogged;
    private bool disposed;

    private GradientWatch(nn.Module model, GradientWatchOptions options, IReadOnlyList<string> watchedModules, bool trackedStatesAreGated)
    {
        this.trackedStatesAreGated = trackedStatesAreGated;
        this.model = model;
        Options = options;
        WatchedModules = watchedModules;
        ModelName = options.ModelName ?? model.GetType().Name;
        logger = options.LoggerFactory?.CreateLogger<GradientWatch>() ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The options this watch runs with.</summary>
    public GradientWatchOptions Options { get; }

    /// <summary>The model name telemetry uses: <see cref="GradientWatchOptions.ModelName"/>, or the model's type name.</summary>
    public string ModelName { get; }

    /// <summary>Names (from <c>named_modules()</c>) of the recurrent modules whose calls are profiled.</summary>
    public IReadOnlyList<string> WatchedModules { get; }

    /// <summary>The logger of this watch (from <see cref="GradientWatchOptions.LoggerFactory"/>, or a null logger).</summary>
    internal ILogger Logger => logger;

    private bool ProfilingDue => recordCount % Options.TimestepProfileInterval == 0;

    /// <summary>
    /// Hooks every recurrent submodule of <paramref name="model"/> (the model itself included).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The model contains no RNN/LSTM/GRU module and no recurrent cell, and
    /// <see cref="GradientWatchOptions.RequireRecurrentModule"/> is true.
    /// </exception>
    public static GradientWatch Attach(nn.Module model, GradientWatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new GradientWatchOptions();

        var modules = ModuleTree(model);
        var recurrent = modules.Where(m => m.Module is RNN or LSTM or GRU).ToList();
        var hasCells = modules.Any(m => m.Module is RNNCell or LSTMCell or GRUCell);
        if (recurrent.Count == 0 && !hasCells && options.RequireRecurrentModule)
        {
            throw new ArgumentException(
                $"The model of type '{model.GetType().FullName}' contains no nn.RNN, nn.LSTM or nn.GRU module and no RNNCell, LSTMCell or GRUCell, " +
                "so there is nothing to profile over time. Attach the model (or the recurrent module itself) that holds the recurrent layer; " +
                "for a recurrence written by hand, set GradientWatchOptions.RequireRecurrentModule = false and register each state with TrackState.",
                nameof(model));
        }

        var gatedCells = modules.Any(m => m.Module is LSTMCell or GRUCell) && !modules.Any(m => m.Module is RNNCell);
        var watch = new GradientWatch(model, options, recurrent.Select(m => m.Name).ToList(), gatedCells);
        foreach (var (name, module) in recurrent)
        {
            watch.Hook(name, module);
        }

        return watch;
    }

    /// <summary>
    /// Registers the state <paramref name="state"/> of timestep <paramref name="timestep"/> of a hand-unrolled
    /// recurrence (call it with the <c>h_t</c> a cell returns, before it is used further). Its gradient is retained, and
    /// <see cref="Record"/> reports ||dL/dh_t|| for every registered timestep as the profile named <paramref name="name"/>.
    /// </summary>
    /// <remarks>
    /// Keep the tensor alive until <see cref="Record"/>. A state that does not require grad (e.g. a zero initial state,
    /// or a forward pass under <c>no_grad</c>) has no gradient to read and is ignored. Registering a timestep twice
    /// under one name in one step starts a second profile, named with a suffix (<c>state#2</c>).
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="state"/> has been disposed, or <paramref name="name"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timestep"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The watch has been disposed.</exception>
    public void TrackState(Tensor state, int timestep, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.IsInvalid)
        {
            throw new ArgumentException("The tensor passed as 'state' has been disposed; register a state before its dispose scope ends.", nameof(state));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(timestep);
        if (name is not null && string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("The state name must not be empty or whitespace; pass null for the default name 'state'.", nameof(name));
        }

        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (!ProfilingDue || !is_grad_enabled() || !state.requires_grad)
            {
                return;
            }

            if (trackedStateCount >= MaxTrackedStatesPerStep)
            {
                LogCaptureLimit();
                return;
            }

            var profileName = name ?? DefaultStateName;
            var profile = trackedProfiles.LastOrDefault(p => p.BaseName == profileName);
            if (profile is null || profile.States.ContainsKey(timestep))
            {
                profile = new TrackedProfile(profileName, NextCallName(profileName));
                trackedProfiles.Add(profile);
            }

            state.retain_grad();
            profile.States[timestep] = state;
            trackedStateCount++;
        }
    }

    /// <summary>
    /// Measures the gradients of this step. Call it after <c>loss.backward()</c> and before clipping and
    /// <c>optimizer.step()</c>. Reads gradients only: what training computes is unchanged. Clears this step's captures.
    /// </summary>
    /// <param name="step">The training step number; reported back in <see cref="GradientStepReport.Step"/>.</param>
    /// <exception cref="ObjectDisposedException">The watch has been disposed.</exception>
    public GradientStepReport Record(long step)
    {
        // The span covers reading the gradients; Emit ends it.
        using var activity = GradientTelemetry.StartStep(step, ModelName);
        GradientStepReport report;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            try
            {
                report = Measure(step);
                calibration.Add(report);
            }
            finally
            {
                ClearCaptures();
                recordCount++;
            }
        }

        // Never throws: metrics, the span and anomaly log records are each guarded inside.
        GradientTelemetry.Emit(report, ModelName, logger, activity);
        return report;
    }

    /// <summary>Removes every hook and releases every capture. The model computes exactly as if never watched.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            foreach (var remove in hookRemovers)
            {
                remove();
            }

            hookRemovers.Clear();
            foreach (var watched in watchedModules)
            {
                watched.Pending?.Dispose();
                watched.Pending = null;
            }

            ClearCaptures();
        }

        if (Options.CalibrationPath is { } path)
        {
            calibration.TryWrite(path, ModelName, logger);
        }
    }

    /// <summary>
    /// Writes the quantiles of the pre-clip global norm of every step recorded so far, and the recommended clip threshold,
    /// as the entry of <see cref="ModelName"/> in the calibration file at <paramref name="path"/> (docs/calibration.md):
    /// other models' entries are kept, the file is replaced atomically. Works after <see cref="Dispose"/> too. Throws
    /// <see cref="ArgumentException"/> for an empty path or a folder, <see cref="InvalidOperationException"/> when no step
    /// had a finite non-zero norm, <see cref="InvalidDataException"/> (file left unchanged) when the file is not a v1
    /// calibration file, <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when it cannot be written.
    /// </summary>
    public void WriteCalibration(string path) => calibration.Write(path, ModelName, logger);

    /// <summary>Makes the step reports carry the threshold <paramref name="adaptiveClipper"/> applies to each step.</summary>
    internal void ReportThresholdsOf(AdaptiveGradientClipper adaptiveClipper)
    {
        lock (gate)
        {
            clipper = adaptiveClipper;
        }
    }

    private static List<(string Name, nn.Module Module)> ModuleTree(nn.Module model)
    {
        // TorchSharp's named_modules() lists descendants only; a bare nn.LSTM passed as the model is watched too.
        var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { model };
        var modules = new List<(string, nn.Module)> { (model.GetType().Name, model) };
        foreach (var (name, module) in model.named_modules())
        {
            if (seen.Add(module))
            {
                modules.Add((name, module));
            }
        }

        return modules;
    }

    private void Hook(string name, nn.Module module)
    {
        var watched = new WatchedModule(name, module, BatchFirst(module));
        watchedModules.Add(watched);
        switch (module)
        {
            case LSTM lstm:
                var lstmPre = lstm.register_forward_pre_hook((_, input, state) =>
                    BeforeCall(watched, input) is { } alias ? (alias, state) : null);
                var lstmPost = lstm.register_forward_hook((_, input, _, result) =>
                {
                    AfterCall(watched, input, result.Item2);
                    return result;
                });
                hookRemovers.Add(lstmPre.remove);
                hookRemovers.Add(lstmPost.remove);
                break;
            case nn.Module<Tensor, Tensor, (Tensor, Tensor)> rnnOrGru:
                var pre = rnnOrGru.register_forward_pre_hook((_, input, state) =>
                    BeforeCall(watched, input) is { } alias ? (alias, state) : null);
                var post = rnnOrGru.register_forward_hook((_, input, _, result) =>
                {
                    AfterCall(watched, input, result.Item2);
                    return result;
                });
                hookRemovers.Add(pre.remove);
                hookRemovers.Add(post.remove);
                break;
        }
    }

    /// <summary>
    /// TorchSharp keeps batch_first in a private field of RNN/LSTM/GRU. When a future version renames it, the layout is
    /// inferred from the shapes of each call instead.
    /// </summary>
    private static bool? BatchFirst(nn.Module module) =>
        module.GetType().GetField("_batch_first", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(module) as bool?;

    private Tensor? BeforeCall(WatchedModule watched, Tensor input)
    {
        try
        {
            lock (gate)
            {
                if (disposed || !ProfilingDue || !is_grad_enabled() || input is null || input.IsInvalid || !input.is_floating_point())
                {
                    return null;
                }

                if (captures.Count >= MaxCapturesPerStep)
                {
                    LogCaptureLimit();
                    return null;
                }

                // A frozen module over raw data builds no graph; an alias that requires grad would make it build one.
                if (!input.requires_grad && !watched.Module.parameters().Any(p => p.requires_grad))
                {
                    return null;
                }

                // An identity view keeps the input's history (an embedding before the LSTM keeps learning); data without
                // history can be detached, because there is nothing upstream for a gradient to reach.
                var alias = input.requires_grad ? input.view_as(input) : input.detach().requires_grad_(true);
                if (!alias.is_leaf)
                {
                    alias.retain_grad();
                }

                alias.DetachFromDisposeScope();
                watched.Pending?.Dispose();
                watched.Pending = alias;
                return alias;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            GradientWatchLog.CaptureFailed(logger, e, watched.Name);
            return null;
        }
    }

    private void AfterCall(WatchedModule watched, Tensor input, Tensor finalHidden)
    {
        try
        {
            lock (gate)
            {
                var alias = watched.Pending;
                if (alias is null || !ReferenceEquals(alias, input))
                {
                    return;
                }

                watched.Pending = null;
                if (disposed)
                {
                    alias.Dispose();
                    return;
                }

                var timeDimension = TimeDimension(watched, alias, finalHidden);
                if (timeDimension < 0)
                {
                    alias.Dispose();
                    return;
                }

                captures.Add(new ModuleCapture(NextCallName(watched.Name), alias, timeDimension, watched.Vanilla));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            GradientWatchLog.CaptureFailed(logger, e, watched.Name);
        }
    }

    private static int TimeDimension(WatchedModule watched, Tensor input, Tensor finalHidden)
    {
        // LibTorch's RNN/LSTM/GRU accept only 3-D input (T, N, F) or (N, T, F).
        switch (input.dim())
        {
            case 3 when watched.BatchFirst is { } batchFirst:
                return batchFirst ? 1 : 0;
            case 3:
                // h_n is (layers * directions, N, H): whichever of the input's first two sizes is N is the batch.
                var batch = finalHidden.shape[^2];
                return input.shape[0] == batch && input.shape[1] != batch ? 1 : 0;
            default:
                return -1;
        }
    }

    private string NextCallName(string name)
    {
        var count = callCounts.TryGetValue(name, out var previous) ? previous + 1 : 1;
        callCounts[name] = count;
        return count == 1 ? name : string.Create(CultureInfo.InvariantCulture, $"{name}#{count}");
    }

    private GradientStepReport Measure(long step)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();

        var parameterNames = new List<string>();
        var norms = new List<Tensor>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            var grad = parameter.grad; // a new wrapper, owned (and disposed) by the scope
            if (grad is null)
            {
                continue;
            }

            parameterNames.Add(name);
            norms.Add(grad.norm().to(float64));
        }

        var pieces = new List<Tensor>();
        if (norms.Count > 0)
        {
            pieces.Add(stack(norms));
        }

        var profileNames = new List<string>();
        var profileLengths = new List<int>();
        var profileMasks = new List<bool[]>();
        var vanillaProfiles = new List<bool>();
        foreach (var capture in captures)
        {
            var grad = ReadGrad(capture.Input, capture.Name);
            if (grad is null)
            {
                continue;
            }

            var reduced = Enumerable.Range(0, (int)grad.dim()).Where(d => d != capture.TimeDimension).Select(d => (long)d).ToArray();
            pieces.Add(grad.square().sum(reduced).sqrt().to(float64).flatten());
            profileNames.Add(capture.Name);
            profileLengths.Add((int)grad.shape[capture.TimeDimension]);
            profileMasks.Add(Enumerable.Repeat(true, (int)grad.shape[capture.TimeDimension]).ToArray());
            vanillaProfiles.Add(capture.Vanilla);
        }

        foreach (var profile in trackedProfiles)
        {
            var length = profile.States.Keys.Max() + 1;
            var mask = new bool[length];
            var values = new List<Tensor>(length);
            for (var t = 0; t < length; t++)
            {
                var grad = profile.States.TryGetValue(t, out var state) ? ReadGrad(state, profile.Name) : null;
                mask[t] = grad is not null;
                values.Add(grad is null ? zeros(1, dtype: float64) : grad.norm().to(float64).reshape(1));
            }

            if (!mask.Contains(true))
            {
                continue;
            }

            pieces.Add(cat(values));
            profileNames.Add(profile.Name);
            profileLengths.Add(length);
            profileMasks.Add(mask);
            vanillaProfiles.Add(!trackedStatesAreGated);
        }

        // One device-to-host copy for every figure of the step.
        var figures = pieces.Count == 0 ? Array.Empty<double>() : cat(pieces).cpu().data<double>().ToArray();

        var parameterNorms = new Dictionary<string, double>(parameterNames.Count, StringComparer.Ordinal);
        var sumOfSquares = 0.0;
        for (var i = 0; i < parameterNames.Count; i++)
        {
            parameterNorms[parameterNames[i]] = figures[i];
            sumOfSquares += figures[i] * figures[i];
        }

        var globalNorm = Math.Sqrt(sumOfSquares);
        var offset = parameterNames.Count;
        var profiles = new List<TimestepProfile>(profileNames.Count);
        var anomalies = new List<GradientAnomaly>();
        NonFiniteAnomaly(parameterNorms, anomalies);
        ExplodingAcrossStepsAnomaly(globalNorm, parameterNames.Count, anomalies);
        for (var i = 0; i < profileNames.Count; i++)
        {
            var profile = new TimestepProfile(profileNames[i], figures.AsSpan(offset, profileLengths[i]).ToArray());
            offset += profileLengths[i];
            profiles.Add(profile);
            OverTimeAnomaly(profile, profileMasks[i], vanillaProfiles[i], anomalies);
        }

        return new GradientStepReport(step, globalNorm, parameterNorms, profiles, anomalies) { ClipThreshold = clipper?.PeekThreshold(globalNorm) };
    }

    private Tensor? ReadGrad(Tensor tensor, string name)
    {
        if (tensor.IsInvalid)
        {
            GradientWatchLog.CapturedTensorDisposed(logger, name);
            return null;
        }

        return tensor.grad;
    }

    private static void NonFiniteAnomaly(Dictionary<string, double> parameterNorms, List<GradientAnomaly> anomalies)
    {
        var bad = parameterNorms.Where(p => !double.IsFinite(p.Value)).Select(p => p.Key).ToList();
        if (bad.Count == 0)
        {
            return;
        }

        var listed = string.Join(", ", bad.Take(MaxNamedParameters));
        var more = bad.Count > MaxNamedParameters ? $" and {bad.Count - MaxNamedParameters} more" : "";
        anomalies.Add(new GradientAnomaly(
            GradientAnomalyKind.NonFinite,
            $"Non-finite (NaN or infinite) gradients in {bad.Count} parameter(s): {listed}{more}.",
            "clip gradients — GD0001 (clipping bounds the steps that lead to overflow; once a gradient is NaN, skip the step and lower the learning rate)"));
    }

    private void ExplodingAcrossStepsAnomaly(double globalNorm, int parameterCount, List<GradientAnomaly> anomalies)
    {
        if (parameterCount == 0 || !double.IsFinite(globalNorm))
        {
            return;
        }

        if (recentGlobalNorms.Count >= Options.WarmupSteps)
        {
            var mean = recentGlobalNormSum / recentGlobalNorms.Count;
            if (mean > 0 && globalNorm > Options.ExplodingFactor * mean)
            {
                anomalies.Add(new GradientAnomaly(
                    GradientAnomalyKind.Exploding,
                    string.Create(CultureInfo.InvariantCulture, $"Global gradient norm {globalNorm:G4} is {globalNorm / mean:G3}× the mean {mean:G4} of the previous {recentGlobalNorms.Count} steps (threshold {Options.ExplodingFactor:G3}×)."),
                    "clip gradients — GD0001; detach the hidden state carried between batches (truncated BPTT) — GD0002"));
            }
        }

        recentGlobalNorms.Enqueue(globalNorm);
        recentGlobalNormSum += globalNorm;
        while (recentGlobalNorms.Count > Options.ExplodingWindow)
        {
            recentGlobalNormSum -= recentGlobalNorms.Dequeue();
        }
    }

    /// <summary>
    /// Compares the gradient at the start of the sequence with the gradient at its end. Each end is the mean norm over
    /// a tenth of the measured timesteps (at least one): a single timestep is noisy (in the adding problem x_0 is rarely
    /// marked), and the calibration showed the end windows keep healthy runs several times further from the threshold.
    /// </summary>
    private void OverTimeAnomaly(TimestepProfile profile, bool[] measured, bool vanilla, List<GradientAnomaly> anomalies)
    {
        var timesteps = Enumerable.Range(0, measured.Length).Where(t => measured[t]).ToArray();
        if (timesteps.Length < 2)
        {
            return;
        }

        var window = Math.Max(1, timesteps.Length / 10);
        var head = timesteps[..window];
        var tail = timesteps[^window..];
        var firstNorm = head.Average(t => profile.Norms[t]);
        var lastNorm = tail.Average(t => profile.Norms[t]);

        // No gradient at the end means the loss does not read it; the ratio would say nothing about time.
        if (!double.IsFinite(firstNorm) || !double.IsFinite(lastNorm) || lastNorm <= 0)
        {
            return;
        }

        var ratio = firstNorm / lastNorm;
        var span = string.Create(CultureInfo.InvariantCulture, $"{profile.Module}: the gradient reaching {Describe(head)} is");
        var detail = string.Create(CultureInfo.InvariantCulture, $"{Describe(tail)} ({firstNorm:G3} vs {lastNorm:G3}");
        if (ratio < Options.VanishingRatio)
        {
            anomalies.Add(new GradientAnomaly(
                GradientAnomalyKind.Vanishing,
                string.Create(CultureInfo.InvariantCulture, $"{span} {ratio:G3} of the gradient at {detail}; threshold {Options.VanishingRatio:G3})."),
                vanilla
                    ? "use a gated cell (LSTM/GRU) — GD0005; initialise recurrent weights orthogonally — GD0003"
                    : "initialise recurrent weights orthogonally and the LSTM forget-gate bias to 1 — GD0004; or shorten the span the loss must reach back"));
        }
        else if (ratio > Options.ExplodingRatio)
        {
            anomalies.Add(new GradientAnomaly(
                GradientAnomalyKind.Exploding,
                string.Create(CultureInfo.InvariantCulture, $"{span} {ratio:G3}× the gradient at {detail}; threshold {Options.ExplodingRatio:G3}×)."),
                vanilla
                    ? "clip gradients — GD0001; initialise recurrent weights orthogonally — GD0003"
                    : "clip gradients — GD0001"));
        }

        static string Describe(int[] timesteps) =>
            timesteps.Length == 1
                ? string.Create(CultureInfo.InvariantCulture, $"timestep {timesteps[0]}")
                : string.Create(CultureInfo.InvariantCulture, $"timesteps {timesteps[0]}–{timesteps[^1]}");
    }

    private void LogCaptureLimit()
    {
        if (!captureLimitLogged)
        {
            captureLimitLogged = true;
            GradientWatchLog.CaptureLimitReached(logger, MaxCapturesPerStep, MaxTrackedStatesPerStep);
        }
    }

    private void ClearCaptures()
    {
        foreach (var capture in captures)
        {
            capture.Input.Dispose();
        }

        captures.Clear();
        trackedProfiles.Clear();
        trackedStateCount = 0;
        callCounts.Clear();
    }

    private sealed class WatchedModule(string name, nn.Module module, bool? batchFirst)
    {
        public string Name { get; } = name;

        public nn.Module Module { get; } = module;

        public bool Vanilla { get; } = module is RNN;

        public bool? BatchFirst { get; } = batchFirst;

        /// <summary>The alias handed to the module by the pre-hook, until the post-hook confirms the call completed.</summary>
        public Tensor? Pending { get; set; }
    }

    private sealed record ModuleCapture(string Name, Tensor Input, int TimeDimension, bool Vanilla);

    private sealed class TrackedProfile(string baseName, string name)
    {
        public string BaseName { get; } = baseName;

        public string Name { get; } = name;

        public Dictionary<int, Tensor> States { get; } = new();
    }
}
