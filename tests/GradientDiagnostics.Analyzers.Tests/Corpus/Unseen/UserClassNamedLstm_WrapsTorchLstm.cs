// A user wrapper class named LSTM (adds layer norm on the output) around TorchSharp's LSTM. The inner
// LSTM keeps its default initialisation and the training step does not clip.
using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.UserLstm;

public sealed class LSTM : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.LSTM inner;
    private readonly TorchSharp.Modules.LayerNorm norm;

    public LSTM(long input, long hidden) : base("NormedLSTM")
    {
        inner = nn.LSTM(input, hidden, batchFirst: true); // expect: GD0004
        norm = nn.LayerNorm(hidden);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (y, _, _) = inner.call(x);
        return norm.call(y);
    }
}

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm = new(5, 32);
    private readonly TorchSharp.Modules.Linear head = nn.Linear(32, 1);

    public Model() : base(nameof(Model)) => RegisterComponents();

    public override Tensor forward(Tensor x) => head.call(lstm.call(x).select(1, -1));
}

public static class Program
{
    public static void Main()
    {
        var model = new Model();
        var optimizer = optim.Adam(model.parameters());
        foreach (var epoch in new[] { 1, 2, 3, 4, 5 })
        {
            for (var i = 0; i < 100; i++)
            {
                optimizer.zero_grad();
                var loss = nn.functional.mse_loss(model.call(randn(4, 12, 5)), randn(4, 1));
                loss.backward();
                optimizer.step(); // expect: GD0001
            }
        }
    }
}
