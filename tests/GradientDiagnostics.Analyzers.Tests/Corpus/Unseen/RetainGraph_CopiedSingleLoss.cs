// retain_graph: true copied from a forum answer onto the only backward of an ordinary classification loop.
// Nothing needs the graph afterwards; memory grows with every iteration that is still referenced.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.RetainSingle;

public static class Program
{
    public static void Main()
    {
        var model = nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Dropout(0.2), nn.Linear(100, 5));
        var optimizer = optim.SGD(model.parameters(), 0.1);
        var features = randn(5000, 40);
        var labels = randint(0, 5, new long[] { 5000 });
        for (var epoch = 0; epoch < 20; epoch++)
        {
            for (long i = 0; i < 5000; i += 100)
            {
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(features[TensorIndex.Slice(i, i + 100)]), labels[TensorIndex.Slice(i, i + 100)]);
                loss.backward(retain_graph: true); // expect: GD0009
                optimizer.step();
            }
        }
    }
}
