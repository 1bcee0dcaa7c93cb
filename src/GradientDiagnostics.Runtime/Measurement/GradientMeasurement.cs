using GradientDiagnostics.Capture;
using GradientDiagnostics.Hooks;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace GradientDiagnostics.Measurement;

/// <summary>
/// Reads one step's gradients: every parameter's norm and, per capture, the norm at every timestep. Everything is
/// reduced on the tensors' device and concatenated into one float64 tensor copied to the host once; every temporary
/// (including each <c>p.grad</c> wrapper) lives in a dispose scope. Runs under <c>no_grad</c> and only reads.
/// </summary>
/// <remarks>
/// Timestep norms are summed in float64: the gradients a profile exists to show are the extreme ones (a vanishing RNN's
/// reach 1e-30 at the start of the sequence, an exploding one's 1e20), ordinary float32 values whose squares fall below
/// or above float32's range, so a float32 sum reads 0 or infinity. The float64 copy is the one temporary (the norm is
/// reduced without a tensor of squares). Parameter norms stay in the gradients' precision: the global norm is the
/// figure <c>clip_grad_norm_</c> computes and compares with its threshold.
/// </remarks>
internal static class GradientMeasurement
{
    public static StepFigures Measure(nn.Module model, StepCaptures captures, RecurrentKind trackedStateKind, double vanishingRatio, ILogger logger)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();

        var parameterNames = new List<string>();
        var pieces = new List<Tensor>();
        var parameterNorms = new List<Tensor>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (parameter.grad is { } grad)
            {
                parameterNames.Add(name);
                parameterNorms.Add(grad.norm().to(float64));
            }
        }

        if (parameterNorms.Count > 0)
        {
            pieces.Add(stack(parameterNorms));
        }

        var measured = new List<(string Name, bool[] Measured, RecurrentKind? Kind, InputCapture? Input)>();
        foreach (var capture in captures.Inputs)
        {
            if (ReadGrad(capture.Input, capture.Name, logger) is not { } grad)
            {
                continue;
            }

            var reduced = Enumerable.Range(0, (int)grad.dim()).Where(d => d != capture.TimeDimension).Select(d => (long)d).ToArray();
            pieces.Add(linalg.vector_norm(grad.to(float64), 2, reduced).flatten());
            var length = (int)grad.shape[capture.TimeDimension];
            measured.Add((capture.Name, Enumerable.Repeat(true, length).ToArray(), capture.Module?.Kind, capture));
        }

        foreach (var tracked in captures.States)
        {
            var length = tracked.ByTimestep.Keys.Max() + 1;
            var mask = new bool[length];
            var values = new List<Tensor>(length);
            for (var t = 0; t < length; t++)
            {
                var grad = tracked.ByTimestep.TryGetValue(t, out var state) ? ReadGrad(state, tracked.Name, logger) : null;
                mask[t] = grad is not null;
                values.Add(grad is null ? zeros(1, dtype: float64) : grad.to(float64).norm().reshape(1));
            }

            if (mask.Contains(true))
            {
                pieces.Add(cat(values));
                measured.Add((tracked.Name, mask, trackedStateKind, null));
            }
        }

        // One device-to-host copy for every figure of the step.
        var figures = pieces.Count == 0 ? Array.Empty<double>() : cat(pieces).cpu().data<double>().ToArray();

        var norms = new Dictionary<string, double>(parameterNames.Count, StringComparer.Ordinal);
        var sumOfSquares = 0.0;
        for (var i = 0; i < parameterNames.Count; i++)
        {
            norms[parameterNames[i]] = figures[i];
            sumOfSquares += figures[i] * figures[i];
        }

        var offset = parameterNames.Count;
        var profiles = new List<MeasuredProfile>(measured.Count);
        foreach (var (name, mask, kind, input) in measured)
        {
            var profile = new TimestepProfile(name, figures.AsSpan(offset, mask.Length).ToArray(), vanishingRatio);
            offset += mask.Length;
            profiles.Add(new MeasuredProfile(profile, mask, kind, input));
        }

        return new StepFigures(norms, Math.Sqrt(sumOfSquares), profiles);
    }

    private static Tensor? ReadGrad(Tensor tensor, string name, ILogger logger)
    {
        if (tensor.IsInvalid)
        {
            GradientWatchLog.CapturedTensorDisposed(logger, name);
            return null;
        }

        return tensor.grad;
    }
}
