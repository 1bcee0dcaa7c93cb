// Classic mistake: the LSTM state is carried to the next batch without detach, backward then fails with
// "Trying to backward through the graph a second time", and the author silences it with retain_graph: true.
// Every iteration's graph stays alive. The LSTM is left at its default initialisation.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.RetainLstm;

public sealed class Net : nn.Module<Tensor, (Tensor, Tensor), (Tensor, Tensor, Tensor)>
{
    private readonly LSTM lstm;
    private readonly Linear fc;

    public Net() : base(nameof(Net))
    {
        lstm = nn.LSTM(1, 50); // expect: GD0004
        fc = nn.Linear(50, 1);
        RegisterComponents();
    }

    public override (Tensor, Tensor, Tensor) forward(Tensor x, (Tensor, Tensor) state)
    {
        var (y, h, c) = lstm.call(x, state);
        return (fc.call(y), h, c);
    }
}

public static class Program
{
    public static void Main()
    {
        var net = new Net();
        var optimizer = optim.Adam(net.parameters(), 1e-2);
        var series = sin(linspace(0, 100, 5001)).view(-1, 1, 1);
        var h = zeros(1, 1, 50);
        var c = zeros(1, 1, 50);
        for (var i = 0; i < 5000; i += 50)
        {
            var x = series[TensorIndex.Slice(i, i + 50)];
            var y = series[TensorIndex.Slice(i + 1, i + 51)];
            optimizer.zero_grad();
            var (prediction, hn, cn) = net.call(x, (h, c));
            h = hn; // expect: GD0002
            c = cn; // expect: GD0002
            var loss = nn.functional.mse_loss(prediction, y);
            loss.backward(retain_graph: true); // expect: GD0009
            nn.utils.clip_grad_norm_(net.parameters(), 1.0);
            optimizer.step();
        }
    }
}
