// Truncated BPTT where the carried (h, c) state is detached by a helper in a separate utility class.
// Initialised LSTM, clipped. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.DetachHelper;

public static class RecurrentState
{
    public static (Tensor H, Tensor C) Detach((Tensor H, Tensor C) state) => (state.H.detach(), state.C.detach());
}

public sealed class Model : nn.Module<Tensor, (Tensor, Tensor), (Tensor, Tensor, Tensor)>
{
    private readonly LSTM lstm = nn.LSTM(4, 64);
    private readonly Linear head = nn.Linear(64, 4);

    public Model() : base(nameof(Model))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { p.zero_(); p[TensorIndex.Slice(64, 128)].fill_(1); }
        }
    }

    public override (Tensor, Tensor, Tensor) forward(Tensor x, (Tensor, Tensor) state)
    {
        var (y, h, c) = lstm.call(x, state);
        return (head.call(y), h, c);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new Model();
        var optimizer = optim.SGD(model.parameters(), 0.1);
        var series = randn(50_000, 2, 4);
        var state = (zeros(1, 2, 64), zeros(1, 2, 64));
        for (var t = 0; t + 101 < series.shape[0]; t += 100)
        {
            state = RecurrentState.Detach(state);
            optimizer.zero_grad();
            var (prediction, h, c) = model.call(series[TensorIndex.Slice(t, t + 100)], state);
            state = (h, c);
            var loss = nn.functional.mse_loss(prediction, series[TensorIndex.Slice(t + 1, t + 101)]);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
