// IRNN (Le et al. 2015) written with `using static TorchSharp.torch.nn`: a ReLU vanilla RNN whose recurrent
// weights are set to the identity. Initialised, so no GD0003, but it is still a vanilla RNN (GD0005).
using System;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Corpus.Irnn;

public sealed class PixelRnn : Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.RNN rnn;
    private readonly TorchSharp.Modules.Linear fc;

    public PixelRnn(long hidden) : base(nameof(PixelRnn))
    {
        rnn = RNN(1, hidden, nonLinearity: NonLinearities.ReLU, batchFirst: true); // expect: GD0005
        fc = Linear(hidden, 10);
        RegisterComponents();
        using var _ = no_grad();
        init.eye_(rnn.get_parameter("weight_hh_l0"));
        init.normal_(rnn.get_parameter("weight_ih_l0"), 0.0, 0.001);
        init.zeros_(rnn.get_parameter("bias_hh_l0"));
        init.zeros_(rnn.get_parameter("bias_ih_l0"));
    }

    public override Tensor forward(Tensor pixels)
    {
        var (output, _) = rnn.call(pixels);
        return fc.call(output.select(1, -1));
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new PixelRnn(100);
        var optimizer = optim.RMSProp(model.parameters(), 1e-6);
        for (var step = 0; step < 1000; step++)
        {
            var pixels = rand(32, 784, 1);
            var labels = randint(0, 10, new long[] { 32 });
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(pixels), labels);
            loss.backward();
            TorchSharp.torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
