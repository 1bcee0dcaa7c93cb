// One-off fine-tuning step: two losses share a forward pass, so the first backward retains the graph and
using System.Linq;
// the second frees it. No loop, MLP only, zero_grad before: no diagnostics.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.RetainOnce;

public static class Program
{
    public static void Main()
    {
        var backbone = nn.Sequential(nn.Linear(10, 32), nn.Tanh());
        var headA = nn.Linear(32, 1);
        var headB = nn.Linear(32, 4);
        var optimizer = optim.SGD(backbone.parameters().Concat(headA.parameters()).Concat(headB.parameters()), 0.01);
        var x = randn(64, 10);
        var features = backbone.call(x);
        optimizer.zero_grad();
        var regression = nn.functional.mse_loss(headA.call(features), randn(64, 1));
        var classification = nn.functional.cross_entropy(headB.call(features), randint(0, 4, new long[] { 64 }));
        regression.backward(retain_graph: true);
        classification.backward();
        optimizer.step();
        Console.WriteLine($"{regression.item<float>()} {classification.item<float>()}");
    }
}
