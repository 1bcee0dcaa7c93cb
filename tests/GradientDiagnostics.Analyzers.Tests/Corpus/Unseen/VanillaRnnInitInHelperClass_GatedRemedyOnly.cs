// A tanh nn.RNN initialised (orthogonal recurrent weights) by a helper in another class: not default
// initialised (no GD0003), still a vanilla RNN (GD0005). Carried state detached per chunk, clipped.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.RnnHelperInit;

internal static class RnnInit
{
    public static void Orthogonal(RNN rnn)
    {
        using var _ = no_grad();
        foreach (var (name, p) in rnn.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else nn.init.zeros_(p);
        }
    }
}

public static class Program
{
    public static void Main()
    {
        var rnn = nn.RNN(1, 32); // expect: GD0005
        RnnInit.Orthogonal(rnn);
        var head = nn.Linear(32, 1);
        var parameters = new System.Collections.Generic.List<Parameter>(rnn.parameters());
        parameters.AddRange(head.parameters());
        var optimizer = optim.SGD(parameters, 0.01);
        var wave = sin(linspace(0, 200, 20_001)).view(-1, 1, 1);
        var h = zeros(1, 1, 32);
        for (var i = 0; i + 101 < wave.shape[0]; i += 100)
        {
            optimizer.zero_grad();
            var (y, hn) = rnn.call(wave[TensorIndex.Slice(i, i + 100)], h);
            h = hn.detach();
            var loss = nn.functional.mse_loss(head.call(y), wave[TensorIndex.Slice(i + 1, i + 101)]);
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
        }
    }
}
