// Stateful streaming model done right: the carried hidden state is detached (and moved out of the dispose
// scope) before it is stored in the field. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.OnlineDetached;

public sealed class StreamingGru : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly GRU gru = nn.GRU(3, 24);
    private readonly Linear head = nn.Linear(24, 3);

    public StreamingGru() : base(nameof(StreamingGru))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in gru.named_parameters())
        {
            if (name.StartsWith("weight")) nn.init.orthogonal_(p);
            else nn.init.zeros_(p);
        }
    }

    public override (Tensor, Tensor) forward(Tensor x, Tensor h)
    {
        var (y, hn) = gru.call(x, h);
        return (head.call(y), hn);
    }
}

public sealed class StreamingForecaster
{
    private readonly StreamingGru model = new();
    private readonly optim.Optimizer optimizer;
    private Tensor state = zeros(1, 1, 24);

    public StreamingForecaster() => optimizer = optim.Adam(model.parameters(), 5e-4);

    public float Learn(Tensor window, Tensor target)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var (prediction, next) = model.call(window, state);
        state.Dispose();
        state = next.detach().MoveToOuterDisposeScope();
        var loss = nn.functional.mse_loss(prediction, target);
        loss.backward();
        nn.utils.clip_grad_norm_(model.parameters(), 1.0);
        optimizer.step();
        return loss.item<float>();
    }

    public static void Main()
    {
        var forecaster = new StreamingForecaster();
        for (var i = 0; i < 1000; i++)
        {
            forecaster.Learn(randn(5, 1, 3), randn(5, 1, 3));
        }
    }
}
