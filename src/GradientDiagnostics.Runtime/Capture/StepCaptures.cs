using System.Globalization;
using GradientDiagnostics.Hooks;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.utils.rnn;

namespace GradientDiagnostics.Capture;

/// <summary>
/// What the current step's forward passes left for <c>Record</c> to measure: the inputs of hooked module calls, tracked
/// packed inputs and tracked states, each with its gradient retained. Owns those tensors until the step ends, bounds how
/// many it holds, and names repeated calls (<c>lstm#2</c>). Every member runs under <see cref="Gate"/>.
/// </summary>
internal sealed class StepCaptures : IDisposable
{
    /// <summary>Bounds what a watch holds when forward passes run without a matching <c>Record</c> (e.g. validation with grad enabled).</summary>
    public const int MaxCapturesPerStep = 256;

    /// <summary>Bounds the states <c>TrackState</c> holds between two <c>Record</c> calls.</summary>
    public const int MaxTrackedStatesPerStep = 65536;

    private const string DefaultStateName = "state";

    private readonly ILogger logger;
    private readonly int profileInterval;
    private readonly IReadOnlyList<WatchedModule> modules;
    private readonly List<InputCapture> inputs = new();
    private readonly List<TrackedStates> states = new();
    private readonly Dictionary<string, int> callCounts = new(StringComparer.Ordinal);
    private readonly Dictionary<WatchedModule, MissedCall> missed = new();
    private int trackedStateCount;
    private long recordCount;
    private bool limitLogged;

    public StepCaptures(IReadOnlyList<WatchedModule> modules, int profileInterval, ILogger logger)
    {
        this.modules = modules;
        this.profileInterval = profileInterval;
        this.logger = logger;
    }

    public object Gate { get; } = new();

    public bool Disposed { get; private set; }

    /// <summary>Profiles are captured on the first recorded step and every <c>TimestepProfileInterval</c>-th after it.</summary>
    public bool ProfilingDue => recordCount % profileInterval == 0;

    /// <summary>Hooked calls and tracked packed inputs, in call order.</summary>
    public IReadOnlyList<InputCapture> Inputs => inputs;

    public IReadOnlyList<TrackedStates> States => states;

    /// <summary>Modules whose calls the hooks saw this step but could not capture, and why.</summary>
    public IReadOnlyDictionary<WatchedModule, MissedCall> Missed => missed;

    /// <summary>The pre-hook: the alias to hand the module instead of <paramref name="input"/>, or null to leave the call alone.</summary>
    public Tensor? BeforeCall(WatchedModule watched, Tensor input)
    {
        try
        {
            lock (Gate)
            {
                // An alias still pending belongs to an earlier call that never completed (it threw): drop it, so the
                // post-hook of this call can only find this call's alias.
                watched.Pending?.Dispose();
                watched.Pending = null;
                if (Disposed || !ProfilingDue || !is_grad_enabled() || input is null || input.IsInvalid || !input.is_floating_point())
                {
                    return null;
                }

                // A frozen module over raw data builds no graph; an alias that requires grad would make it build one.
                if (!input.requires_grad && !watched.Module.parameters().Any(p => p.requires_grad))
                {
                    return null;
                }

                if (!HasRoom(inputs.Count, MaxCapturesPerStep))
                {
                    missed[watched] = MissedCall.CaptureLimit;
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
                watched.Pending = alias;
                return alias;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Failed(watched, e);
            return null;
        }
    }

    /// <summary>
    /// The post-hook: keeps the alias of a call that completed, with its time dimension. The module may have been given a
    /// tensor made from the alias rather than the alias itself — another watch's pre-hook, registered later, aliases it in
    /// turn — and the gradient reaching that tensor reaches the alias unchanged, so the alias is kept all the same.
    /// </summary>
    public void AfterCall(WatchedModule watched, Tensor output, Tensor finalHidden)
    {
        try
        {
            lock (Gate)
            {
                var alias = watched.Pending;
                if (alias is null)
                {
                    return;
                }

                watched.Pending = null;
                var singleStep = TimeLayout.IsSingleStep(alias);
                var timeDimension = Disposed ? TimeLayout.Unknown
                    : watched.TimeDimension ?? (singleStep ? 0 : TimeLayout.TimeDimension(alias, output, finalHidden));
                if (timeDimension == TimeLayout.Unknown)
                {
                    alias.Dispose();
                    if (!Disposed)
                    {
                        missed[watched] = MissedCall.LayoutUnknown;
                    }

                    return;
                }

                watched.TimeDimension = singleStep ? watched.TimeDimension : timeDimension;
                inputs.Add(new InputCapture(NextCallName(watched.Name), watched.Name, alias, timeDimension, watched));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Failed(watched, e);
        }
    }

    /// <summary>See <c>GradientWatch.TrackInput</c>; call under <see cref="Gate"/> after validating the arguments.</summary>
    public PackedSequence TrackInput(PackedSequence input, string name)
    {
        if (!ProfilingDue || !is_grad_enabled() || !HasRoom(inputs.Count, MaxCapturesPerStep))
        {
            return input;
        }

        (PackedSequence Packed, Tensor Padded)? repacked;
        try
        {
            repacked = PackedInputs.Repack(input);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            GradientWatchLog.CaptureFailed(logger, e, name);
            return input;
        }

        if (repacked is not { } tracked)
        {
            if (input.data.is_floating_point())
            {
                GradientWatchLog.PackedInputOrderChanged(logger, name);
            }

            return input;
        }

        inputs.Add(new InputCapture(NextCallName(name), name, tracked.Padded, 0, Module: null));
        return tracked.Packed;
    }

    /// <summary>See <c>GradientWatch.TrackState</c>; call under <see cref="Gate"/> after validating the arguments.</summary>
    public void TrackState(Tensor state, int timestep, string? name)
    {
        if (!ProfilingDue || !is_grad_enabled() || !state.requires_grad || !HasRoom(trackedStateCount, MaxTrackedStatesPerStep))
        {
            return;
        }

        var baseName = name ?? DefaultStateName;
        var profile = states.LastOrDefault(p => p.BaseName == baseName);
        if (profile is null || profile.ByTimestep.ContainsKey(timestep))
        {
            profile = new TrackedStates(baseName, NextCallName(baseName));
            states.Add(profile);
        }

        state.retain_grad();
        profile.ByTimestep[timestep] = state;
        trackedStateCount++;
    }

    /// <summary>Releases this step's captures and counts the step; the next step starts empty.</summary>
    public void EndStep()
    {
        Clear();
        recordCount++;
    }

    /// <summary>Releases every capture, including aliases of calls still in flight; later hooks do nothing.</summary>
    public void Dispose()
    {
        Disposed = true;
        foreach (var watched in modules)
        {
            watched.Pending?.Dispose();
            watched.Pending = null;
        }

        Clear();
    }

    private void Clear()
    {
        foreach (var capture in inputs)
        {
            capture.Input.Dispose();
        }

        inputs.Clear();
        states.Clear();
        missed.Clear();
        trackedStateCount = 0;
        callCounts.Clear();
    }

    private bool HasRoom(int count, int limit)
    {
        if (count < limit)
        {
            return true;
        }

        if (!limitLogged)
        {
            limitLogged = true;
            GradientWatchLog.CaptureLimitReached(logger, MaxCapturesPerStep, MaxTrackedStatesPerStep);
        }

        return false;
    }

    private void Failed(WatchedModule watched, Exception exception)
    {
        GradientWatchLog.CaptureFailed(logger, exception, watched.Name);
        lock (Gate)
        {
            if (!Disposed)
            {
                missed[watched] = MissedCall.CaptureFailed;
            }
        }
    }

    private string NextCallName(string name)
    {
        var count = callCounts.TryGetValue(name, out var previous) ? previous + 1 : 1;
        callCounts[name] = count;
        return count == 1 ? name : string.Create(CultureInfo.InvariantCulture, $"{name}#{count}");
    }
}
