// Stateful GRU language model that detaches the carried hidden state in place (detach_()) at the start of
// each batch. In-place detach is a detach. Initialised, clipped. Correct code.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.DetachInPlace;

public static class Program
{
    public static void Main()
    {
        var embed = nn.Embedding(256, 64);
        var gru = nn.GRU(64, 128);
        var proj = nn.Linear(128, 256);
        using (no_grad())
        {
            foreach (var (name, p) in gru.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else p.zero_();
            }
        }

        var parameters = new System.Collections.Generic.List<Parameter>();
        parameters.AddRange(embed.parameters());
        parameters.AddRange(gru.parameters());
        parameters.AddRange(proj.parameters());
        var optimizer = optim.Adam(parameters, 2e-3);
        var bytes = randint(0, 256, new long[] { 20_000, 8 });
        var hidden = zeros(1, 8, 128);
        for (var i = 0; i + 65 < bytes.shape[0]; i += 64)
        {
            hidden.detach_();
            optimizer.zero_grad();
            var (output, next) = gru.call(embed.call(bytes[TensorIndex.Slice(i, i + 64)]), hidden);
            hidden = next;
            var loss = nn.functional.cross_entropy(proj.call(output).view(-1, 256), bytes[TensorIndex.Slice(i + 1, i + 65)].reshape(-1));
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 0.5);
            optimizer.step();
        }
    }
}
