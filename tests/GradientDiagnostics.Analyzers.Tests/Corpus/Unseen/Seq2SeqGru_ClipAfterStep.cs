// Encoder-decoder where clipping was added after the optimizer step (so it clips gradients that have
// already been applied and are about to be zeroed). Present-but-misplaced: GD0006, not GD0001.
using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Corpus.Seq2SeqClipAfterStep;

public sealed class Seq2Seq : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly TorchSharp.Modules.GRU encoder;
    private readonly TorchSharp.Modules.GRU decoder;
    private readonly TorchSharp.Modules.Linear readout;

    public Seq2Seq(long features, long hidden) : base("seq2seq")
    {
        encoder = nn.GRU(features, hidden, batchFirst: true);
        decoder = nn.GRU(features, hidden, batchFirst: true);
        readout = nn.Linear(hidden, features);
        RegisterComponents();
        foreach (var gru in new[] { encoder, decoder })
        {
            foreach (var (name, p) in gru.named_parameters())
            {
                using var _ = no_grad();
                if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
                else if (name.StartsWith("weight")) nn.init.xavier_uniform_(p);
                else p.zero_();
            }
        }
    }

    public override Tensor forward(Tensor source, Tensor shiftedTarget)
    {
        var (_, context) = encoder.call(source);
        var (decoded, _) = decoder.call(shiftedTarget, context);
        return readout.call(decoded);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new Seq2Seq(4, 32);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var epoch = 0; epoch < 20; epoch++)
        {
            foreach (var batch in Enumerable.Range(0, 50))
            {
                using var scope = NewDisposeScope();
                var source = randn(16, 20, 4);
                var target = source.flip(1);
                var shifted = nn.functional.pad(target, new long[] { 0, 0, 1, 0 })[TensorIndex.Colon, TensorIndex.Slice(0, 20)];
                optimizer.zero_grad();
                var loss = nn.functional.mse_loss(model.call(source, shifted), target);
                loss.backward();
                optimizer.step();
                nn.utils.clip_grad_norm_(model.parameters(), 1.0); // expect: GD0006
            }
        }
    }
}
