using GradientDiagnostics.Calibration;
using GradientDiagnostics.Capture;
using GradientDiagnostics.Detection;
using GradientDiagnostics.Hooks;
using GradientDiagnostics.Measurement;
using GradientDiagnostics.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.utils.rnn;

namespace GradientDiagnostics;

/// <summary>
/// Watches the gradients of a TorchSharp recurrent model: per-parameter norms, the global norm, and the gradient
/// reaching every timestep of every recurrent module call, with vanishing / exploding / non-finite detection.
/// </summary>
/// <remarks>
/// <para>
/// A pipeline of small steps, each in its own type: <see cref="RecurrentModuleHooks"/> hooks every <c>nn.RNN</c>,
/// <c>nn.LSTM</c> and <c>nn.GRU</c>; <see cref="StepCaptures"/> keeps the inputs whose gradient a step must read;
/// <see cref="GradientMeasurement"/> reads the gradients; <see cref="CoverageCheck"/> and <see cref="AnomalyDetector"/>
/// decide what the figures mean; <see cref="GradientTelemetry"/> emits them.
/// </para>
/// <para>
/// TorchSharp runs hooks only when a module is invoked through <c>call(Tensor, …)</c>: a module invoked with
/// <c>forward()</c>, or given a <c>PackedSequence</c>, is listed in <see cref="GradientStepReport.Unprofiled"/> instead.
/// Packed inputs are profiled through <see cref="TrackInput"/>, hand-unrolled cells through <see cref="TrackState"/>.
/// </para>
/// <para>
/// The pre-hook hands the module an autograd alias of its input and retains that alias's gradient, so the norm per
/// timestep of dL/dx_t is read after <c>backward()</c>. An input that already requires grad (e.g. an embedding's output)
/// is aliased through an identity view: the gradient flowing back to it, and on to every earlier layer, is bitwise
/// the same. An input that does not require grad (raw data) has no autograd history to cut, so a detached alias that
/// requires grad is used; that adds the input-gradient computation of the first layer and changes no parameter
/// gradient. The caller's tensors are never modified.
/// </para>
/// </remarks>
public sealed class GradientWatch : IDisposable
{
    private readonly nn.Module model;
    private readonly ILogger logger;
    private readonly List<Action> hookRemovers = new();
    private readonly StepCaptures captures;
    private readonly CoverageCheck coverage;
    private readonly AnomalyDetector detector;
    private readonly CalibrationRecorder calibration = new();
    private AdaptiveGradientClipper? clipper;

    /// <summary>The recurrence of tracked states: that of the model's cells (any RNNCell, or none, counts as vanilla).</summary>
    private readonly RecurrentKind trackedStateKind;

    private GradientWatch(nn.Module model, GradientWatchOptions options, List<WatchedModule> watched, List<WatchedModule> cells, RecurrentKind trackedStateKind)
    {
        this.model = model;
        this.trackedStateKind = trackedStateKind;
        Options = options;
        ModelName = options.ModelName ?? model.GetType().Name;
        WatchedModules = watched.Select(m => m.Name).ToList();
        logger = options.LoggerFactory?.CreateLogger<GradientWatch>() ?? (ILogger)NullLogger.Instance;
        captures = new StepCaptures(watched, options.TimestepProfileInterval, logger);
        coverage = new CoverageCheck(watched, cells, logger);
        detector = new AnomalyDetector(options);
    }

    /// <summary>The options this watch runs with.</summary>
    public GradientWatchOptions Options { get; }

    /// <summary>The model name telemetry uses: <see cref="GradientWatchOptions.ModelName"/>, or the model's type name.</summary>
    public string ModelName { get; }

    /// <summary>Names (from <c>named_modules()</c>) of the recurrent modules whose calls are profiled.</summary>
    public IReadOnlyList<string> WatchedModules { get; }

    /// <summary>The logger of this watch (from <see cref="GradientWatchOptions.LoggerFactory"/>, or a null logger).</summary>
    internal ILogger Logger => logger;

    /// <summary>
    /// Hooks every recurrent submodule of <paramref name="model"/> (the model itself included).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The model has been disposed, or it contains no RNN/LSTM/GRU module and no recurrent cell and
    /// <see cref="GradientWatchOptions.RequireRecurrentModule"/> is true.
    /// </exception>
    public static GradientWatch Attach(nn.Module model, GradientWatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new GradientWatchOptions();
        if (WatchedModule.FirstDisposed(model) is { } disposed)
        {
            throw new ArgumentException(
                $"The model of type '{model.GetType().FullName}' has been disposed: its recurrent module '{disposed}' holds no parameters any more. " +
                "Attach the watch to a live model, and dispose the watch before the model.",
                nameof(model));
        }

        var watched = WatchedModule.FindIn(model, out var cells, out var cellKind);
        if (watched.Count == 0 && cells.Count == 0 && options.RequireRecurrentModule)
        {
            throw new ArgumentException(
                $"The model of type '{model.GetType().FullName}' contains no nn.RNN, nn.LSTM or nn.GRU module and no RNNCell, LSTMCell or GRUCell, " +
                "so there is nothing to profile over time. Attach the model (or the recurrent module itself) that holds the recurrent layer; " +
                "for a recurrence written by hand, set GradientWatchOptions.RequireRecurrentModule = false and register each state with TrackState.",
                nameof(model));
        }

        var watch = new GradientWatch(model, options, watched, cells, cellKind);
        foreach (var module in watched)
        {
            watch.hookRemovers.AddRange(RecurrentModuleHooks.Register(module, watch.captures));
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

        lock (captures.Gate)
        {
            ObjectDisposedException.ThrowIf(captures.Disposed, this);
            captures.TrackState(state, timestep, name);
        }
    }

    /// <summary>
    /// Profiles a packed (variable-length) input, which module hooks never see: returns the packed input to give the
    /// recurrent module instead of <paramref name="input"/>, and <see cref="Record"/> reports the profile
    /// <paramref name="name"/> with <c>Norms[t]</c> = ||dL/dx_t|| over the sequences still active at timestep t.
    /// </summary>
    /// <remarks>
    /// The returned sequence holds the same data in the same order (same batch sizes, same sorted and unsorted indices),
    /// so the module computes exactly what it would from <paramref name="input"/>: every parameter gradient, and the
    /// gradient flowing back into <paramref name="input"/>, is bitwise the same. Name it after the module it feeds
    /// (its <c>named_modules()</c> name, e.g. <c>"encoder"</c>) so the profile lines up with that module; any name works.
    /// When no profile is due (grad disabled, <see cref="GradientWatchOptions.TimestepProfileInterval"/>, or the data is
    /// not floating point) <paramref name="input"/> itself is returned. The returned sequence belongs to the current
    /// dispose scope, like any TorchSharp result.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> or <paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="input"/> has been disposed, or <paramref name="name"/> is empty or whitespace.</exception>
    /// <exception cref="ObjectDisposedException">The watch has been disposed.</exception>
    public PackedSequence TrackInput(PackedSequence input, string name)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(name);
        if (input.data is null || input.data.IsInvalid)
        {
            throw new ArgumentException("The PackedSequence passed as 'input' has been disposed; track it before its dispose scope ends.", nameof(input));
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("The profile name must not be empty or whitespace; name it after the module it feeds.", nameof(name));
        }

        lock (captures.Gate)
        {
            ObjectDisposedException.ThrowIf(captures.Disposed, this);
            return captures.TrackInput(input, name);
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
        lock (captures.Gate)
        {
            ObjectDisposedException.ThrowIf(captures.Disposed, this);
            try
            {
                var measured = GradientMeasurement.Measure(model, captures, trackedStateKind, Options.VanishingRatio, logger);
                var (unprofiled, figures) = coverage.Check(measured, captures);
                var anomalies = detector.Detect(figures);
                report = new GradientStepReport(
                    step, figures.GlobalNorm, figures.ParameterNorms, figures.Profiles.Select(p => p.Profile).ToList(), anomalies, unprofiled)
                {
                    ClipThreshold = clipper?.PeekThreshold(figures.GlobalNorm),
                };
                calibration.Add(report);
            }
            finally
            {
                captures.EndStep();
            }
        }

        // Never throws: metrics, the span and anomaly log records are each guarded inside.
        GradientTelemetry.Emit(report, ModelName, logger, activity);
        return report;
    }

    /// <summary>Removes every hook and releases every capture. The model computes exactly as if never watched.</summary>
    public void Dispose()
    {
        lock (captures.Gate)
        {
            if (captures.Disposed)
            {
                return;
            }

            foreach (var remove in hookRemovers)
            {
                remove();
            }

            hookRemovers.Clear();
            captures.Dispose();
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
        lock (captures.Gate)
        {
            clipper = adaptiveClipper;
        }
    }
}
