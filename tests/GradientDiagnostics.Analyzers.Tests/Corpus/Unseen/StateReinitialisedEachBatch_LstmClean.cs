// The state variable lives outside the loop, but every iteration overwrites it with a fresh zero state before
// use, and intermediate states are only collected for logging. Nothing is carried. Initialised, clipped.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.FreshState;

public static class Program
{
    public static void Main()
    {
        var lstm = nn.LSTM(5, 20);
        using (no_grad())
        {
            foreach (var (name, p) in lstm.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else { p.zero_(); p[TensorIndex.Slice(20, 40)].fill_(1); }
            }
        }

        var optimizer = optim.Adam(lstm.parameters(), 1e-3);
        var finalStateNorms = new List<float>();
        (Tensor H, Tensor C) state = (zeros(1, 4, 20), zeros(1, 4, 20));
        for (var i = 0; i < 300; i++)
        {
            state = (zeros(1, 4, 20), zeros(1, 4, 20));
            optimizer.zero_grad();
            var (y, h, c) = lstm.call(randn(12, 4, 5), state);
            finalStateNorms.Add(h.detach().norm().item<float>());
            var loss = y.pow(2).mean();
            loss.backward();
            nn.utils.clip_grad_norm_(lstm.parameters(), 1.0);
            optimizer.step();
        }

        Console.WriteLine(string.Join(", ", finalStateNorms));
    }
}
