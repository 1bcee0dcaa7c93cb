// Code that reaches TorchSharp through a namespace alias (`using TS = TorchSharp;`). The LSTM keeps its
// default initialisation; clipping and zero_grad are present.
using System;
using TS = TorchSharp;

namespace Corpus.Alias;

public sealed class Model : TS.torch.nn.Module<TS.torch.Tensor, TS.torch.Tensor>
{
    private readonly TS.Modules.LSTM lstm = TS.torch.nn.LSTM(3, 10, batchFirst: true); // expect: GD0004
    private readonly TS.Modules.Linear fc = TS.torch.nn.Linear(10, 1);

    public Model() : base(nameof(Model)) => RegisterComponents();

    public override TS.torch.Tensor forward(TS.torch.Tensor x) => fc.call(lstm.call(x).Item1.select(1, -1));
}

public static class Program
{
    public static void Main()
    {
        var model = new Model();
        var optimizer = TS.torch.optim.Adam(model.parameters(), 1e-3);
        for (var i = 0; i < 100; i++)
        {
            optimizer.zero_grad();
            var loss = TS.torch.nn.functional.mse_loss(model.call(TS.torch.randn(4, 7, 3)), TS.torch.zeros(4, 1));
            loss.backward();
            TS.torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
