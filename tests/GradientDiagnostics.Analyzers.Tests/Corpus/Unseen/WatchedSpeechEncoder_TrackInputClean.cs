// The same packed-batch encoder done right: the training loop passes each packed batch through watch.TrackInput
// under the encoder's name and gives the model what it returns, so the watch profiles the GRU. Evaluation runs the
// GRU with forward() on padded input under no_grad, and a shape probe in the constructor calls forward once: neither
// trains, so neither is reported. Initialised and clipped: no diagnostics.
using System;
using System.Linq;
using GradientDiagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.utils.rnn;

namespace Corpus.SpeechEncoderTracked;

public sealed class SpeechClassifier : nn.Module<PackedSequence, Tensor>
{
    private readonly GRU encoder;
    private readonly Linear classifier;

    public SpeechClassifier(long features, long hidden, long classes) : base(nameof(SpeechClassifier))
    {
        encoder = nn.GRU(features, hidden, batchFirst: true);
        var (probe, _) = encoder.forward(zeros(1, 2, features));
        classifier = nn.Linear(probe.shape[^1], classes);
        RegisterComponents();
        using var _ = no_grad();
        nn.init.orthogonal_(encoder.get_parameter("weight_hh_l0"));
        nn.init.xavier_uniform_(encoder.get_parameter("weight_ih_l0"));
        nn.init.zeros_(encoder.get_parameter("bias_ih_l0"));
        nn.init.zeros_(encoder.get_parameter("bias_hh_l0"));
    }

    public override Tensor forward(PackedSequence utterances)
    {
        var (_, last) = encoder.call(utterances);
        return classifier.call(last[-1]);
    }

    public Tensor Evaluate(Tensor padded)
    {
        using var _ = no_grad();
        var (_, last) = encoder.forward(padded);
        return classifier.call(last[-1]).argmax(1);
    }
}

public static class Program
{
    public static void Main()
    {
        var random = new Random(5);
        var model = new SpeechClassifier(40, 96, 12);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var watch = GradientWatch.Attach(model);
        for (var step = 1; step <= 300; step++)
        {
            using var scope = NewDisposeScope();
            var lengths = Enumerable.Range(0, 8).Select(_ => (long)random.Next(20, 120)).ToArray();
            var padded = randn(8, lengths.Max(), 40);
            var batch = watch.TrackInput(pack_padded_sequence(padded, tensor(lengths), batch_first: true, enforce_sorted: false), "encoder");
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(batch), randint(0, 12, new long[] { 8 }));
            loss.backward();
            watch.Record(step);
            nn.utils.clip_grad_norm_(model.parameters(), 5.0);
            optimizer.step();
        }

        Console.WriteLine(model.Evaluate(randn(4, 50, 40)));
    }
}
