// The carried GRU state is threaded through a `ref` parameter of a per-chunk training method, called from an
// epoch loop. The state returned by the GRU is written back through the ref without detaching.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.RefHidden;

public sealed class Model : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly GRU gru = nn.GRU(10, 40);
    private readonly Linear fc = nn.Linear(40, 10);

    public Model() : base(nameof(Model))
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

    public override (Tensor, Tensor) forward(Tensor x, Tensor h)
    {
        var (y, hn) = gru.call(x, h);
        return (fc.call(y), hn);
    }
}

public static class Program
{
    private static float TrainChunk(Model model, optim.Optimizer optimizer, Tensor chunk, ref Tensor hidden)
    {
        optimizer.zero_grad();
        var (prediction, next) = model.call(chunk[TensorIndex.Slice(0, -1)], hidden);
        hidden = next; // expect: GD0002
        var loss = nn.functional.mse_loss(prediction, chunk[TensorIndex.Slice(1, null)]);
        loss.backward();
        nn.utils.clip_grad_norm_(model.parameters(), 1.0);
        optimizer.step();
        return loss.item<float>();
    }

    public static void Main()
    {
        var model = new Model();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var series = randn(10_000, 4, 10);
        for (var epoch = 0; epoch < 3; epoch++)
        {
            var hidden = zeros(1, 4, 10 * 4);
            for (var i = 0; i + 33 < series.shape[0]; i += 32)
            {
                TrainChunk(model, optimizer, series[TensorIndex.Slice(i, i + 33)], ref hidden);
            }
        }
    }
}
