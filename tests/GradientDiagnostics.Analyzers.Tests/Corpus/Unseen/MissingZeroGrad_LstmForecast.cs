// Initialised, clipped LSTM forecaster whose loop never clears gradients.
using System.Linq;
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.NoZeroGradLstm;

public sealed class LoadModel : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm;
    private readonly Linear output;

    public LoadModel(int hidden) : base(nameof(LoadModel))
    {
        lstm = nn.LSTM(24, hidden, batchFirst: true);
        output = nn.Linear(hidden, 24);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { p.zero_(); p[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0); }
        }
    }

    public override Tensor forward(Tensor days)
    {
        var (y, _, _) = lstm.call(days);
        return output.call(y.select(1, -1));
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new LoadModel(64);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var history = rand(365, 24);
        for (var epoch = 0; epoch < 30; epoch++) // expect: GD0008
        {
            var starts = randint(0, 365 - 15, new long[] { 32 });
            var windows = stack(starts.data<long>().ToArray().Select(s => history[TensorIndex.Slice(s, s + 14)]).ToArray());
            var targets = stack(starts.data<long>().ToArray().Select(s => history[s + 14]).ToArray());
            var loss = nn.functional.mse_loss(model.call(windows), targets);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
