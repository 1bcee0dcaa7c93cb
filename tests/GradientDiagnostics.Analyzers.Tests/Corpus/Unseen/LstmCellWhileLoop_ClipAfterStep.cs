// Reinforcement-style rollout with an LSTMCell policy trained in a while loop; the clip was pasted after
// optimizer.step(). Cell initialised, fresh state per episode.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.PolicyClipAfter;

public static class Program
{
    public static void Main()
    {
        var cell = nn.LSTMCell(4, 64);
        var policy = nn.Linear(64, 2);
        using (no_grad())
        {
            nn.init.orthogonal_(cell.weight_hh);
            nn.init.xavier_uniform_(cell.weight_ih);
            cell.bias_hh!.zero_();
            cell.bias_ih!.zero_();
            cell.bias_ih![TensorIndex.Slice(64, 128)].fill_(1);
        }

        var parameters = new List<Parameter>(cell.parameters());
        parameters.AddRange(policy.parameters());
        var optimizer = optim.Adam(parameters, 3e-4);
        var episode = 0;
        while (episode++ < 500)
        {
            var h = zeros(1, 64);
            var c = zeros(1, 64);
            var logProbs = new List<Tensor>();
            for (var t = 0; t < 200; t++)
            {
                (h, c) = cell.call(randn(1, 4), (h, c));
                var distribution = nn.functional.log_softmax(policy.call(h), 1);
                logProbs.Add(distribution[0, t % 2]);
            }

            optimizer.zero_grad();
            var loss = -stack(logProbs).sum() * (float)Random.Shared.NextDouble();
            loss.backward();
            optimizer.step();
            nn.utils.clip_grad_norm_(parameters, 0.5); // expect: GD0006
        }
    }
}
