// Actor-critic on an MLP pair with two optimizers: the actor's gradients are cleared every step, the critic's
// never are (its zero_grad was forgotten when the optimizers were split).
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.ActorCritic;

public static class Program
{
    public static void Main()
    {
        var actor = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 4));
        var critic = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 1));
        var actorOptimizer = optim.Adam(actor.parameters(), 3e-4);
        var criticOptimizer = optim.Adam(critic.parameters(), 1e-3);
        foreach (var episode in System.Linq.Enumerable.Range(0, 1000)) // expect: GD0008
        {
            var states = randn(32, 8);
            var returns = randn(32, 1);
            var values = critic.call(states);
            var advantage = (returns - values).detach();

            actorOptimizer.zero_grad();
            var logProbs = nn.functional.log_softmax(actor.call(states), 1)[TensorIndex.Colon, 0].unsqueeze(1);
            var actorLoss = -(logProbs * advantage).mean();
            actorLoss.backward();
            actorOptimizer.step();

            var criticLoss = nn.functional.mse_loss(values, returns);
            criticLoss.backward();
            criticOptimizer.step();
        }
    }
}
