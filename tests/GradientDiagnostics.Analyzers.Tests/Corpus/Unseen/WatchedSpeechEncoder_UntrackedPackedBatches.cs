// Variable-length utterances packed with pack_padded_sequence and fed to a two-layer GRU encoder stack, watched. The
// packed batch goes to call(PackedSequence), which runs no module hooks, and it was never passed through
// watch.TrackInput: neither GRU is profiled (GD0010 on each packed argument). Initialised and clipped.
using System;
using System.Linq;
using GradientDiagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.utils.rnn;

namespace Corpus.SpeechEncoder;

public sealed class SpeechClassifier : nn.Module<PackedSequence, Tensor>
{
    private readonly GRU lower;
    private readonly GRU upper;
    private readonly Linear classifier;

    public SpeechClassifier(long features, long hidden, long classes) : base(nameof(SpeechClassifier))
    {
        lower = nn.GRU(features, hidden, batchFirst: true);
        upper = nn.GRU(hidden, hidden, batchFirst: true);
        classifier = nn.Linear(hidden, classes);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var gru in new[] { lower, upper })
        {
            nn.init.orthogonal_(gru.get_parameter("weight_hh_l0"));
            nn.init.xavier_uniform_(gru.get_parameter("weight_ih_l0"));
            nn.init.zeros_(gru.get_parameter("bias_ih_l0"));
            nn.init.zeros_(gru.get_parameter("bias_hh_l0"));
        }
    }

    public override Tensor forward(PackedSequence utterances)
    {
        var (lowerStates, _) = lower.call(utterances); // expect: GD0010
        var (_, last) = upper.call(lowerStates); // expect: GD0010
        return classifier.call(last[-1]);
    }
}

public static class Program
{
    public static void Main()
    {
        var random = new Random(3);
        var model = new SpeechClassifier(40, 96, 12);
        var optimizer = optim.AdamW(model.parameters(), 1e-3);
        using var watch = GradientWatch.Attach(model, new GradientWatchOptions { ModelName = "speech" });
        for (var step = 1; step <= 300; step++)
        {
            using var scope = NewDisposeScope();
            var lengths = Enumerable.Range(0, 8).Select(_ => (long)random.Next(20, 120)).ToArray();
            var padded = randn(8, lengths.Max(), 40);
            var batch = pack_padded_sequence(padded, tensor(lengths), batch_first: true, enforce_sorted: false);
            var labels = randint(0, 12, new long[] { 8 });
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(batch), labels);
            loss.backward();
            watch.Record(step);
            nn.utils.clip_grad_norm_(model.parameters(), 5.0);
            optimizer.step();
        }
    }
}
