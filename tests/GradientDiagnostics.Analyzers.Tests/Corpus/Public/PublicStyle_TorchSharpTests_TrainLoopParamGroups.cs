// public-style: in the style of dotnet/TorchSharp's TestTraining (a TrainLoop helper over IModule<Tensor,Tensor>
// and an Optimizer, Sequential of re-initialised Linear layers, Adam with parameter groups, a scheduler stepped
// with the loss). Paraphrased. Not recurrent: nothing to report.
using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PublicStyle.TrainingTests
{
    public class OptimizerChecks
    {
        private static void Reinitialize(Generator gen, Linear linear)
        {
            var w = rand(linear.weight!.shape, generator: gen);
            var bound = 1 / Math.Sqrt(w.shape[1]);
            linear.weight = Parameter(w * (2 * bound) - bound);
            if (linear.bias is not null)
            {
                var b = rand(linear.bias.shape, generator: gen);
                linear.bias = Parameter(b * (2 * bound) - bound);
            }
        }

        private static float TrainLoop(IModule<Tensor, Tensor> seq, Tensor x, Tensor y, optim.Optimizer optimizer, optim.lr_scheduler.LRScheduler? scheduler = null)
        {
            Loss<Tensor, Tensor, Tensor> loss = MSELoss(Reduction.Sum);
            var finalLoss = float.MaxValue;
            for (int i = 0; i < 10; i++)
            {
                using var eval = seq.call(x);
                using var output = loss.call(eval, y);
                finalLoss = output.ToSingle();
                optimizer.zero_grad();
                output.backward();
                optimizer.step();
                scheduler?.step(finalLoss);
            }

            return finalLoss;
        }

        public static float AdamWithParamGroups()
        {
            var gen = new Generator(4711);
            var lin1 = Linear(1000, 100);
            var lin2 = Linear(100, 10);
            Reinitialize(gen, lin1);
            Reinitialize(gen, lin2);
            using var seq = Sequential(("lin1", lin1), ("relu1", ReLU()), ("lin2", lin2));
            var x = rand(new long[] { 64, 1000 }, generator: gen);
            var y = rand(new long[] { 64, 10 }, generator: gen);
            var optimizer = optim.Adam(new Adam.ParamGroup[]
            {
                new() { Parameters = lin1.parameters(), Options = new() { LearningRate = 0.005f } },
                new() { Parameters = lin2.parameters() },
            });
            return TrainLoop(seq, x, y, optimizer);
        }

        public static float SgdWithPlateauScheduler()
        {
            var gen = new Generator(42);
            var lin1 = Linear(1000, 100);
            var lin2 = Linear(100, 10);
            using var seq = Sequential(("lin1", lin1), ("relu1", ReLU()), ("lin2", lin2));
            var optimizer = optim.SGD(seq.parameters(), 0.00004);
            var scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer);
            return TrainLoop(seq, rand(new long[] { 64, 1000 }, generator: gen), rand(new long[] { 64, 10 }, generator: gen), optimizer, scheduler);
        }
    }
}
