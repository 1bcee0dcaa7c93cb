// LSTM forecaster for a noisy sine series: sliding windows, fresh state per batch (nothing carried),
// forget-gate bias 1, clipping, and a StepLR schedule stepped once per epoch. Correct code.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Forecaster;

public sealed class Forecaster : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm;
    private readonly Linear head;

    public Forecaster(int hidden, int layers) : base(nameof(Forecaster))
    {
        lstm = nn.LSTM(1, hidden, numLayers: layers, batchFirst: true);
        head = nn.Linear(hidden, 1);
        RegisterComponents();
        using (no_grad())
        {
            foreach (var (name, p) in lstm.named_parameters())
            {
                switch (name[..6])
                {
                    case "weight":
                        if (name.Contains("_hh_")) nn.init.orthogonal_(p); else nn.init.xavier_uniform_(p);
                        break;
                    default:
                        p.zero_();
                        p[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
                        break;
                }
            }
        }
    }

    public override Tensor forward(Tensor window)
    {
        var (output, _, _) = lstm.call(window);
        return head.call(output[TensorIndex.Colon, -1]);
    }
}

public static class Program
{
    private static (Tensor X, Tensor Y) Windows(int count, int length, Random random)
    {
        var xs = new List<Tensor>();
        var ys = new List<Tensor>();
        for (var i = 0; i < count; i++)
        {
            var phase = random.NextDouble() * Math.PI * 2;
            var t = arange(length + 1, dtype: float32) * 0.1 + phase;
            var series = sin(t) + 0.05 * randn(length + 1);
            xs.Add(series[TensorIndex.Slice(0, length)].unsqueeze(-1));
            ys.Add(series[TensorIndex.Slice(length, length + 1)]);
        }

        return (stack(xs), stack(ys));
    }

    public static void Main()
    {
        var random = new Random(3);
        using var model = new Forecaster(hidden: 48, layers: 2);
        var optimizer = optim.Adam(model.parameters(), lr: 3e-3);
        var scheduler = optim.lr_scheduler.StepLR(optimizer, step_size: 10, gamma: 0.5);
        for (var epoch = 0; epoch < 40; epoch++)
        {
            var epochLoss = 0.0;
            for (var batch = 0; batch < 25; batch++)
            {
                using var scope = NewDisposeScope();
                var (x, y) = Windows(32, 50, random);
                optimizer.zero_grad();
                var loss = nn.functional.mse_loss(model.call(x), y);
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), max_norm: 1.0);
                optimizer.step();
                epochLoss += loss.item<float>();
            }

            scheduler.step();
            Console.WriteLine($"epoch {epoch}: {epochLoss / 25:F5}");
        }

        model.eval();
        using (no_grad())
        {
            var (x, y) = Windows(8, 50, random);
            Console.WriteLine($"test mse {nn.functional.mse_loss(model.call(x), y).item<float>():F5}");
        }
    }
}
