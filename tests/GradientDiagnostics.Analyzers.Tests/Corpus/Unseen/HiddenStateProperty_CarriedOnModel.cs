// A stateful model that keeps its own hidden state in a public property between calls (Keras "stateful"
// style). forward feeds State back into the GRU and stores the new one without detaching.
using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.StateProperty;

public sealed class StatefulGru : nn.Module<Tensor, Tensor>
{
    private readonly GRU gru;
    private readonly Linear head;

    public StatefulGru() : base(nameof(StatefulGru))
    {
        gru = nn.GRU(7, 32, batchFirst: true);
        head = nn.Linear(32, 1);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in gru.named_parameters())
        {
            if (name.StartsWith("weight_hh")) nn.init.orthogonal_(p);
            else if (name.StartsWith("weight_ih")) nn.init.xavier_uniform_(p);
            else nn.init.zeros_(p);
        }
    }

    public Tensor? State { get; set; }

    public override Tensor forward(Tensor x)
    {
        var (y, h) = gru.call(x, State);
        State = h; // expect: GD0002
        return head.call(y);
    }

    public void ResetState() => State = null;
}

public static class Program
{
    public static void Main()
    {
        var model = new StatefulGru();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        for (var epoch = 0; epoch < 5; epoch++)
        {
            model.ResetState();
            for (var i = 0; i < 200; i++)
            {
                optimizer.zero_grad();
                var x = randn(4, 10, 7);
                var loss = nn.functional.mse_loss(model.call(x), x[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(0, 1)]);
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
            }
        }
    }
}
