using GradientDiagnostics.Capture;
using GradientDiagnostics.Hooks;
using GradientDiagnostics.Measurement;
using Microsoft.Extensions.Logging;

namespace GradientDiagnostics.Detection;

/// <summary>
/// Finds what the watch could not see: watched modules whose parameters received gradients in a profiled step but that
/// produced no profile (invoked with <c>forward()</c>, or given a packed input that was not tracked). Each is logged once,
/// with the reason and the remedy, and listed in <see cref="GradientStepReport.Unprofiled"/> every step it recurs.
/// A recurrent cell (<c>RNNCell</c>, <c>LSTMCell</c>, <c>GRUCell</c>) runs one timestep per call, so only tracked states can
/// profile it: a cell that received gradients is listed when the step tracked no state at all.
/// </summary>
/// <remarks>
/// A tracked packed input never passes the hooks, so which module consumed it is inferred: the module whose name the
/// input was tracked under, else the first unprofiled module (in <c>named_modules()</c> order) whose input size matches
/// the packed data's features. The inference errs towards fewer reports: a module is only listed when no tracked input
/// can account for it.
/// </remarks>
internal sealed class CoverageCheck(IReadOnlyList<WatchedModule> modules, IReadOnlyList<WatchedModule> cells, ILogger logger)
{
    private readonly HashSet<WatchedModule> logged = new();

    /// <summary>The unprofiled modules of the step, and its profiles with the recurrence of each tracked packed input resolved.</summary>
    public (IReadOnlyList<string> Unprofiled, StepFigures Figures) Check(StepFigures figures, StepCaptures captures)
    {
        var profiled = figures.Profiles.Select(p => p.Input?.Module).OfType<WatchedModule>().ToHashSet();
        var unaccounted = captures.ProfilingDue
            ? modules.Where(m => !profiled.Contains(m) && ReceivedGradients(m, figures.ParameterNorms)).ToList()
            : new List<WatchedModule>();

        var packed = figures.Profiles.Where(p => p.Input is { Module: null }).ToList();
        var consumers = new Dictionary<MeasuredProfile, WatchedModule>();
        foreach (var profile in packed)
        {
            if (modules.FirstOrDefault(m => m.Name == profile.Input!.BaseName) is { } named)
            {
                consumers[profile] = named;
                unaccounted.Remove(named);
            }
        }

        foreach (var profile in packed.Where(p => !consumers.ContainsKey(p)))
        {
            if (unaccounted.FirstOrDefault(m => m.InputSize == profile.Input!.FeatureSize) is { } candidate)
            {
                consumers[profile] = candidate;
                unaccounted.Remove(candidate);
            }
        }

        // Tracked states carry any name, so one tracked profile accounts for every cell: fewer reports, never a false one.
        if (captures.ProfilingDue && !figures.Profiles.Any(p => p.Input is null))
        {
            unaccounted.AddRange(cells.Where(c => ReceivedGradients(c, figures.ParameterNorms)));
        }

        foreach (var module in unaccounted)
        {
            if (logged.Add(module))
            {
                var (reason, remedy) = Explain(module, captures.Missed.TryGetValue(module, out var missed) ? missed : null);
                GradientWatchLog.ModuleNotProfiled(logger, module.Name, reason, remedy);
            }
        }

        var resolved = figures.Profiles
            .Select(p => p.Kind is null ? p with { Kind = KindOfPackedInput(p, consumers) } : p)
            .ToList();
        return (unaccounted.Select(m => m.Name).ToList(), figures with { Profiles = resolved });
    }

    /// <summary>The log text of an unprofiled module: why, and what to do.</summary>
    internal static (string Reason, string Remedy) Explain(WatchedModule module, MissedCall? missed) => module.IsCell ? (
            "it is a recurrent cell, called once per timestep, and no state was registered with TrackState in this step",
            $"register each state h_t it returns with watch.TrackState(h, t, \"{module.Name}\")")
        : missed switch
    {
        MissedCall.CaptureLimit => (
            $"more than {StepCaptures.MaxCapturesPerStep} recurrent calls (or {StepCaptures.MaxTrackedStatesPerStep} tracked states) went by without Record",
            "call Record after every backward(), and run evaluation under no_grad"),
        MissedCall.LayoutUnknown => (
            "its input has as many timesteps as sequences, and the call did not show which dimension is time",
            "use a batch size that differs from the sequence length"),
        MissedCall.CaptureFailed => (
            "capturing its input threw (see the warning with EventId 10)",
            "call it with a dense 3-D floating-point input through call(...)"),
        _ => (
            "its parameters received gradients but no call through call(Tensor, ...) was seen: it was invoked with forward(...), " +
            "or given a PackedSequence, and TorchSharp runs module hooks for neither",
            $"invoke it with call(...) instead of forward(...); for a PackedSequence, pass the input through watch.TrackInput(packed, \"{module.Name}\") and give the module what that returns"),
    };

    private static bool ReceivedGradients(WatchedModule module, IReadOnlyDictionary<string, double> parameterNorms) =>
        module.ParameterNames.Any(name => parameterNorms.TryGetValue(name, out var norm) && norm != 0);

    private RecurrentKind? KindOfPackedInput(MeasuredProfile profile, Dictionary<MeasuredProfile, WatchedModule> consumers)
    {
        if (consumers.TryGetValue(profile, out var consumer))
        {
            return consumer.Kind;
        }

        var sameSize = modules.Where(m => m.InputSize == profile.Input!.FeatureSize).Select(m => m.Kind).Distinct().ToList();
        return sameSize.Count == 1 ? sameSize[0] : null;
    }
}
