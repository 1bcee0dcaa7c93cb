// One experiment file trains an MLP baseline and an LSTM model, neither with clipping. Only the recurrent
// training step needs it. Both models initialised, zero_grad present.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.TwoModels;

public sealed class MlpBaseline : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> net = nn.Sequential(nn.Flatten(), nn.Linear(20 * 6, 64), nn.ReLU(), nn.Linear(64, 2));

    public MlpBaseline() : base(nameof(MlpBaseline)) => RegisterComponents();

    public override Tensor forward(Tensor x) => net.call(x);
}

public sealed class LstmModel : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm = nn.LSTM(6, 32, batchFirst: true);
    private readonly Linear fc = nn.Linear(32, 2);

    public LstmModel() : base(nameof(LstmModel))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { p.zero_(); p[TensorIndex.Slice(32, 64)].fill_(1); }
        }
    }

    public override Tensor forward(Tensor x) => fc.call(lstm.call(x).Item1.select(1, -1));
}

public static class Experiment
{
    public static void TrainBaseline(int steps)
    {
        var model = new MlpBaseline();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < steps; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(randn(32, 20, 6)), randint(0, 2, new long[] { 32 }));
            loss.backward();
            optimizer.step();
        }
    }

    public static void TrainRecurrent(int steps)
    {
        var model = new LstmModel();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < steps; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(randn(32, 20, 6)), randint(0, 2, new long[] { 32 }));
            loss.backward();
            optimizer.step(); // expect: GD0001
        }
    }
}
