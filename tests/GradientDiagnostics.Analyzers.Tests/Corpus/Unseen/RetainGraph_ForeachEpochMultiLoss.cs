// Multi-task MLP trained in a foreach loop where the author retains the graph for the auxiliary loss's
// backward in every iteration (retain_graph inside the training loop).
using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.RetainForeach;

public static class Program
{
    private static IEnumerable<(Tensor X, Tensor Y, Tensor Z)> Data()
    {
        for (var i = 0; i < 200; i++) yield return (randn(32, 20), randn(32, 1), randint(0, 3, new long[] { 32 }));
    }

    public static void Main()
    {
        var trunk = nn.Sequential(nn.Linear(20, 64), nn.ReLU());
        var value = nn.Linear(64, 1);
        var policy = nn.Linear(64, 3);
        var all = new List<TorchSharp.Modules.Parameter>();
        all.AddRange(trunk.parameters());
        all.AddRange(value.parameters());
        all.AddRange(policy.parameters());
        var optimizer = optim.Adam(all, 3e-4);
        foreach (var (x, y, z) in Data())
        {
            optimizer.zero_grad();
            var shared = trunk.call(x);
            var valueLoss = nn.functional.mse_loss(value.call(shared), y);
            valueLoss.backward(null, true); // expect: GD0009
            var policyLoss = nn.functional.cross_entropy(policy.call(shared), z);
            policyLoss.backward();
            optimizer.step();
        }
    }
}
