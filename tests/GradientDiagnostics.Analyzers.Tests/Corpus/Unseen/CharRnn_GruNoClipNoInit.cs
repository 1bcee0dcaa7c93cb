// Char-level GRU generator: hidden state correctly detached between chunks, but the recurrent training
// step has no gradient clipping and the GRU keeps its default initialisation.
using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.CharGru;

public sealed class CharGru : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly nn.Module<Tensor, Tensor> embed;
    private readonly TorchSharp.Modules.GRU gru;
    private readonly nn.Module<Tensor, Tensor> output;

    public CharGru(int vocab, int hidden, int layers) : base("char-gru")
    {
        embed = nn.Embedding(vocab, hidden);
        gru = nn.GRU(hidden, hidden, layers, batchFirst: true); // expect: GD0004
        output = nn.Linear(hidden, vocab);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor x, Tensor h)
    {
        var (y, hn) = gru.call(embed.call(x), h);
        return (output.call(y), hn);
    }
}

public static class Program
{
    public static void Main(string[] args)
    {
        var text = args.Length > 0 ? args[0] : string.Concat(Enumerable.Repeat("to be or not to be ", 200));
        var vocab = text.Distinct().ToList();
        var ids = tensor(text.Select(c => (long)vocab.IndexOf(c)).ToArray()).view(1, -1);
        var model = new CharGru(vocab.Count, 96, 2);
        var opt = optim.RMSProp(model.parameters(), 1e-3);
        var h = zeros(2, 1, 96);
        for (var step = 0; step < 500; step++)
        {
            var offset = (step * 50) % (int)(ids.shape[1] - 51);
            var x = ids[TensorIndex.Colon, TensorIndex.Slice(offset, offset + 50)];
            var y = ids[TensorIndex.Colon, TensorIndex.Slice(offset + 1, offset + 51)];
            h = h.detach();
            opt.zero_grad();
            var (logits, hn) = model.call(x, h);
            h = hn;
            var loss = nn.functional.cross_entropy(logits.view(-1, vocab.Count), y.reshape(-1));
            loss.backward();
            opt.step(); // expect: GD0001
        }
    }
}
