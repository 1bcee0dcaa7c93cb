// A trainer whose "post-step hook" clips gradients after optimizer.step() through a helper method: the
// clipping runs, but on gradients that were already applied. Present-but-misplaced: GD0006, at the clip or at the
// call of the helper that runs it after step() (either line is a fair report).
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.PostStepClip;

public sealed class Encoder : nn.Module<Tensor, Tensor>
{
    private readonly LSTM lstm = nn.LSTM(16, 32, batchFirst: true);
    private readonly Linear fc = nn.Linear(32, 4);

    public Encoder() : base(nameof(Encoder))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in lstm.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else { p.zero_(); p[TensorIndex.Slice(32, 64)].fill_(1.0); }
        }
    }

    public override Tensor forward(Tensor x) => fc.call(lstm.call(x).Item1.select(1, -1));
}

public sealed class Trainer
{
    private readonly Encoder model = new();
    private readonly optim.Optimizer optimizer;

    public Trainer() => optimizer = optim.Adam(model.parameters(), 1e-3);

    private void AfterStep()
    {
        nn.utils.clip_grad_norm_(model.parameters(), 1.0); // expect: GD0006 #post-step-hook
    }

    public void Epoch(int batches)
    {
        for (var i = 0; i < batches; i++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(randn(8, 12, 16)), randint(0, 4, new long[] { 8 }));
            loss.backward();
            optimizer.step();
            AfterStep(); // expect-alt: GD0006 #post-step-hook
        }
    }
}
