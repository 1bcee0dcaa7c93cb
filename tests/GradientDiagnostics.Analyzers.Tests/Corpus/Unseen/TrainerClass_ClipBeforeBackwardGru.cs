// A trainer class whose TrainBatch clips right after the forward pass, before backward() — the gradients it
// clips are the (already zeroed) ones. Initialised GRU.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.TrainerClipBefore;

public sealed class Model : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru = nn.GRU(20, 50, batchFirst: true);
    private readonly Linear fc = nn.Linear(50, 2);

    public Model() : base(nameof(Model))
    {
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in gru.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else nn.init.zeros_(p);
        }
    }

    public override Tensor forward(Tensor x) => fc.call(gru.call(x).Item1.select(1, -1));
}

public sealed class Trainer
{
    private readonly Model model = new();
    private readonly optim.Optimizer optimizer;

    public Trainer() => optimizer = optim.Adam(model.parameters(), 1e-3);

    public float TrainBatch(Tensor x, Tensor y)
    {
        optimizer.zero_grad();
        var logits = model.call(x);
        nn.utils.clip_grad_norm_(model.parameters(), 1.0); // expect: GD0006
        var loss = nn.functional.cross_entropy(logits, y);
        loss.backward();
        optimizer.step();
        return loss.item<float>();
    }
}
