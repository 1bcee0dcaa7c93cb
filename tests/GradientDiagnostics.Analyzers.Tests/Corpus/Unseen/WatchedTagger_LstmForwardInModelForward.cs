// A POS tagger trained with the gradient watch attached. The model runs its LSTM with lstm.forward(x) inside its own
// forward, as much TorchSharp code does: module hooks never fire, so the watch cannot profile it (GD0010). The head's
// forward on a Linear and the training loop's model.call are fine. Initialised and clipped: nothing else to report.
using System;
using System.Collections.Generic;
using GradientDiagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.WatchedTagger;

public sealed class PosTagger : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly LSTM lstm;
    private readonly Linear head;

    public PosTagger(long vocabulary, long hidden, long tags) : base(nameof(PosTagger))
    {
        embedding = nn.Embedding(vocabulary, 32);
        lstm = nn.LSTM(32, hidden, batchFirst: true);
        head = nn.Linear(hidden, tags);
        RegisterComponents();
        using var _ = no_grad();
        nn.init.orthogonal_(lstm.get_parameter("weight_hh_l0"));
        nn.init.xavier_uniform_(lstm.get_parameter("weight_ih_l0"));
        nn.init.zeros_(lstm.get_parameter("bias_ih_l0"));
        nn.init.zeros_(lstm.get_parameter("bias_hh_l0"));
        lstm.get_parameter("bias_ih_l0")[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
    }

    public override Tensor forward(Tensor tokens)
    {
        var embedded = embedding.forward(tokens);
        var (states, _, _) = lstm.forward(embedded); // expect: GD0010
        return head.forward(states);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new PosTagger(5000, 128, 17);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var watch = GradientWatch.Attach(model);
        for (var step = 1; step <= 500; step++)
        {
            using var scope = NewDisposeScope();
            var tokens = randint(0, 5000, new long[] { 16, 30 });
            var tags = randint(0, 17, new long[] { 16, 30 });
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(tokens).reshape(-1, 17), tags.reshape(-1));
            loss.backward();
            var report = watch.Record(step);
            if (report.Unprofiled.Count > 0 && step == 1)
            {
                Console.WriteLine($"not profiled: {string.Join(", ", report.Unprofiled)}");
            }

            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
