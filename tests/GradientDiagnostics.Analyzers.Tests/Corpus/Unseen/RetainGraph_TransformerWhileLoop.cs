// Transformer encoder fine-tuning in a while loop with backward(retain_graph: true) on its single loss.
using System.Linq;
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.RetainTransformer;

public static class Program
{
    public static void Main()
    {
        var encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(64, 4, 128, 0.1), 2);
        var head = nn.Linear(64, 2);
        var optimizer = optim.AdamW(encoder.parameters().Concat(head.parameters()), 1e-4);
        var step = 0;
        while (step < 2000)
        {
            optimizer.zero_grad();
            var x = randn(32, 8, 64);
            var logits = head.call(encoder.call(x, null, null).mean(new long[] { 0 }));
            var loss = nn.functional.cross_entropy(logits, randint(0, 2, new long[] { 8 }));
            loss.backward(retain_graph: true); // expect: GD0009
            optimizer.step();
            step++;
        }
    }
}
