// Transformer encoder text classifier: attention, not recurrence, so no clipping or init rule applies.
// Zero-grad is present, so nothing should be reported.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.TransformerClassifier;

public sealed class PositionalEncoding : nn.Module<Tensor, Tensor>
{
    private readonly Tensor table;

    public PositionalEncoding(long dModel, long maxLen) : base(nameof(PositionalEncoding))
    {
        var position = arange(maxLen).unsqueeze(1);
        var divTerm = exp(arange(0, dModel, 2) * (-Math.Log(10000.0) / dModel));
        table = zeros(maxLen, dModel);
        table[TensorIndex.Colon, TensorIndex.Slice(0, null, 2)] = sin(position * divTerm);
        table[TensorIndex.Colon, TensorIndex.Slice(1, null, 2)] = cos(position * divTerm);
        register_buffer("pe", table);
    }

    public override Tensor forward(Tensor x) => x + table[TensorIndex.Slice(0, x.shape[1])];
}

public sealed class TransformerClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly PositionalEncoding positions;
    private readonly TransformerEncoder encoder;
    private readonly Linear head;

    public TransformerClassifier(long vocab, long dModel, long heads, long layers, long classes) : base(nameof(TransformerClassifier))
    {
        embed = nn.Embedding(vocab, dModel);
        positions = new PositionalEncoding(dModel, 512);
        encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(dModel, heads, 4 * dModel, 0.1), layers);
        head = nn.Linear(dModel, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens)
    {
        var x = positions.call(embed.call(tokens) * Math.Sqrt(embed.weight!.shape[1]));
        var encoded = encoder.call(x.transpose(0, 1));
        return head.call(encoded.mean(new long[] { 0 }));
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new TransformerClassifier(8000, 128, 4, 2, 4);
        var optimizer = optim.AdamW(model.parameters(), 5e-4);
        var scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, 1000);
        for (var step = 0; step < 1000; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, 8000, new long[] { 16, 64 });
            var labels = randint(0, 4, new long[] { 16 });
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(tokens), labels);
            loss.backward();
            optimizer.step();
            scheduler.step();
        }
    }
}
