// Polyphonic music model (piano-roll, 88 keys) with a 2-layer tanh RNN declared with `using static
// TorchSharp.torch.nn` in a field initialiser. Default initialisation; clipping and per-chunk detach present.
using System;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Corpus.PianoRoll;

public sealed class PianoRollRnn : Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly TorchSharp.Modules.RNN rnn = RNN(88, 150, numLayers: 2, dropout: 0.1); // expect: GD0003, GD0005
    private readonly TorchSharp.Modules.Linear keys = Linear(150, 88);

    public PianoRollRnn() : base(nameof(PianoRollRnn)) => RegisterComponents();

    public override (Tensor, Tensor) forward(Tensor roll, Tensor h)
    {
        var (y, hn) = rnn.call(roll, h);
        return (keys.call(y), hn);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new PianoRollRnn();
        var optimizer = TorchSharp.torch.optim.Adam(model.parameters(), 1e-3);
        var song = (rand(4000, 1, 88) > 0.9).to_type(ScalarType.Float32);
        var h = zeros(2, 1, 150);
        for (var t = 0; t + 51 < song.shape[0]; t += 50)
        {
            optimizer.zero_grad();
            var (logits, hn) = model.call(song[TensorIndex.Slice(t, t + 50)], h.detach());
            h = hn;
            var loss = functional.binary_cross_entropy_with_logits(logits, song[TensorIndex.Slice(t + 1, t + 51)]);
            loss.backward();
            TorchSharp.torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0);
            optimizer.step();
        }
    }
}
