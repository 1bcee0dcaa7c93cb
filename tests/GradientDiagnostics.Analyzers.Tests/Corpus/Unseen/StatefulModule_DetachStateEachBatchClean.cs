// A Keras-style stateful module: it keeps its GRU state in a field between calls and exposes DetachState(),
// which the training loop calls every batch; the state is also detached once more after the step in the
// evaluation helper. Initialised, clipped. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.StatefulDetach;

public sealed class StatefulGru : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru = nn.GRU(5, 20, batchFirst: true);
    private readonly Linear head = nn.Linear(20, 5);
    private Tensor? state;

    public StatefulGru() : base(nameof(StatefulGru))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in gru.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else nn.init.zeros_(p);
        }
    }

    public void DetachState() => state = state?.detach();

    public void ResetState() => state = null;

    public override Tensor forward(Tensor x)
    {
        var (y, h) = gru.call(x, state);
        state = h;
        return head.call(y);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new StatefulGru();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var stream = randn(4, 5000, 5);
        for (var epoch = 0; epoch < 3; epoch++)
        {
            model.ResetState();
            for (var t = 0; t + 51 < stream.shape[1]; t += 50)
            {
                model.DetachState();
                optimizer.zero_grad();
                var prediction = model.call(stream[TensorIndex.Colon, TensorIndex.Slice(t, t + 50)]);
                var loss = nn.functional.mse_loss(prediction, stream[TensorIndex.Colon, TensorIndex.Slice(t + 1, t + 51)]);
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
            }
        }
    }
}
