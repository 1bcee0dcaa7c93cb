// Sampling from a trained char-GRU: the hidden state is carried from character to character, but under
// no_grad and with no backward or step, so there is no BPTT and no training step. Initialised GRU.
using System;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Sampling;

public sealed class CharModel : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly Embedding embed = nn.Embedding(96, 64);
    private readonly GRU gru = nn.GRU(64, 256, numLayers: 2);
    private readonly Linear proj = nn.Linear(256, 96);

    public CharModel() : base(nameof(CharModel))
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
        var (y, hn) = gru.call(embed.call(x), h);
        return (proj.call(y), hn);
    }
}

public static class Sampler
{
    public static string Sample(CharModel model, char start, int length, double temperature)
    {
        model.eval();
        var text = new StringBuilder().Append(start);
        using var _ = no_grad();
        var hidden = zeros(2, 1, 256);
        var input = tensor(new long[] { start - 32 }).view(1, 1);
        for (var i = 0; i < length; i++)
        {
            var (logits, h) = model.call(input, hidden);
            hidden = h;
            var probabilities = nn.functional.softmax(logits.view(-1) / temperature, 0);
            var next = multinomial(probabilities, 1);
            text.Append((char)(next.item<long>() + 32));
            input = next.view(1, 1);
        }

        return text.ToString();
    }
}
