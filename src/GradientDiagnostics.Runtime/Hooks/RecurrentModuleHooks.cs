using GradientDiagnostics.Capture;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics.Hooks;

/// <summary>
/// Registers the forward pre- and post-hooks that let <see cref="StepCaptures"/> see each call of a watched module.
/// TorchSharp runs them only for <c>call(Tensor, …)</c>: <c>forward(…)</c> and the <c>call(PackedSequence, …)</c>
/// overloads of RNN/LSTM/GRU bypass module hooks, which is why <see cref="Detection.CoverageCheck"/> exists.
/// </summary>
internal static class RecurrentModuleHooks
{
    /// <summary>Hooks <paramref name="watched"/>; returns the actions that remove its hooks again.</summary>
    public static IEnumerable<Action> Register(WatchedModule watched, StepCaptures captures)
    {
        switch (watched.Module)
        {
            case LSTM lstm:
                var lstmPre = lstm.register_forward_pre_hook((_, input, state) =>
                    captures.BeforeCall(watched, input) is { } alias ? (alias, state) : null);
                var lstmPost = lstm.register_forward_hook((_, _, _, result) =>
                {
                    captures.AfterCall(watched, result.Item1, result.Item2);
                    return result;
                });
                return new Action[] { lstmPre.remove, lstmPost.remove };
            case nn.Module<Tensor, Tensor, (Tensor, Tensor)> rnnOrGru:
                var pre = rnnOrGru.register_forward_pre_hook((_, input, state) =>
                    captures.BeforeCall(watched, input) is { } alias ? (alias, state) : null);
                var post = rnnOrGru.register_forward_hook((_, _, _, result) =>
                {
                    captures.AfterCall(watched, result.Item1, result.Item2);
                    return result;
                });
                return new Action[] { pre.remove, post.remove };
            default:
                return Array.Empty<Action>();
        }
    }
}
