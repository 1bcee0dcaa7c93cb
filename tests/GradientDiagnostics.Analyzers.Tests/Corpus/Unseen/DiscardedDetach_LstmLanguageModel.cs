// The classic half-fix: `hidden.detach();` as a statement. detach() returns a new tensor and leaves `hidden`
// attached, so the state carried to the next batch still drags the whole history. Initialised LSTM, clipped.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.DiscardedDetach;

public static class Program
{
    public static void Main()
    {
        var embed = nn.Embedding(1000, 64);
        var lstm = nn.LSTM(64, 128);
        var decoder = nn.Linear(128, 1000);
        using (no_grad())
        {
            foreach (var (name, p) in lstm.named_parameters())
            {
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
                else { p.zero_(); p[TensorIndex.Slice(128, 256)].fill_(1); }
            }
        }

        var parameters = new System.Collections.Generic.List<Parameter>(embed.parameters());
        parameters.AddRange(lstm.parameters());
        parameters.AddRange(decoder.parameters());
        var optimizer = optim.SGD(parameters, 1.0);
        var tokens = randint(0, 1000, new long[] { 10_000, 16 });
        var h = zeros(1, 16, 128);
        var c = zeros(1, 16, 128);
        for (var i = 0; i + 36 < tokens.shape[0]; i += 35)
        {
            h.detach();
            c.detach();
            optimizer.zero_grad();
            var (output, hn, cn) = lstm.call(embed.call(tokens[TensorIndex.Slice(i, i + 35)]), (h, c));
            h = hn; // expect: GD0002
            c = cn; // expect: GD0002
            var loss = nn.functional.cross_entropy(decoder.call(output).view(-1, 1000), tokens[TensorIndex.Slice(i + 1, i + 36)].reshape(-1));
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 0.25);
            optimizer.step();
        }
    }
}
