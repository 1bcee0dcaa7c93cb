// Seq2seq translation (port of the PyTorch NLP-from-scratch tutorial): GRU encoder and decoder, each with
// its own optimizer, teacher forcing, clipping both before stepping, weights set by a shared helper.
using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Seq2Seq;

internal static class RecurrentInit
{
    public static void Apply(nn.Module module)
    {
        using var _ = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (name.Contains("weight_hh")) nn.init.orthogonal_(parameter);
            else if (name.Contains("weight_ih")) nn.init.xavier_uniform_(parameter);
            else if (name.Contains("bias")) nn.init.zeros_(parameter);
        }
    }
}

public sealed class EncoderRnn : nn.Module<Tensor, (Tensor, Tensor)>
{
    private readonly Embedding embedding;
    private readonly GRU gru;

    public EncoderRnn(long inputSize, long hiddenSize) : base(nameof(EncoderRnn))
    {
        embedding = nn.Embedding(inputSize, hiddenSize);
        gru = nn.GRU(hiddenSize, hiddenSize, batchFirst: true);
        RegisterComponents();
        RecurrentInit.Apply(gru);
    }

    public override (Tensor, Tensor) forward(Tensor input) => gru.call(embedding.call(input));
}

public sealed class DecoderRnn : nn.Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly Embedding embedding;
    private readonly GRU gru;
    private readonly Linear output;

    public DecoderRnn(long hiddenSize, long outputSize) : base(nameof(DecoderRnn))
    {
        embedding = nn.Embedding(outputSize, hiddenSize);
        gru = nn.GRU(hiddenSize, hiddenSize, batchFirst: true);
        output = nn.Linear(hiddenSize, outputSize);
        RegisterComponents();
        RecurrentInit.Apply(gru);
    }

    public override (Tensor, Tensor) forward(Tensor input, Tensor hidden)
    {
        var embedded = nn.functional.relu(embedding.call(input));
        var (y, h) = gru.call(embedded, hidden);
        return (output.call(y), h);
    }
}

public static class Translate
{
    private const long Sos = 0;

    public static double TrainPair(Tensor source, Tensor target, EncoderRnn encoder, DecoderRnn decoder,
        optim.Optimizer encoderOptimizer, optim.Optimizer decoderOptimizer, bool teacherForcing)
    {
        using var scope = NewDisposeScope();
        encoderOptimizer.zero_grad();
        decoderOptimizer.zero_grad();

        var (_, encoderHidden) = encoder.call(source);
        var decoderInput = full(new long[] { source.shape[0], 1 }, Sos, dtype: int64);
        var decoderHidden = encoderHidden;
        var losses = new List<Tensor>();
        for (long t = 0; t < target.shape[1]; t++)
        {
            var (logits, h) = decoder.call(decoderInput, decoderHidden);
            decoderHidden = h;
            var expected = target[TensorIndex.Colon, TensorIndex.Single(t)];
            losses.Add(nn.functional.cross_entropy(logits.squeeze(1), expected));
            decoderInput = teacherForcing ? expected.unsqueeze(1) : logits.argmax(-1).detach();
        }

        var loss = stack(losses).mean();
        loss.backward();
        nn.utils.clip_grad_norm_(encoder.parameters(), 1.0);
        nn.utils.clip_grad_norm_(decoder.parameters(), 1.0);
        encoderOptimizer.step();
        decoderOptimizer.step();
        return loss.item<float>();
    }

    public static void TrainIters(int iterations)
    {
        var encoder = new EncoderRnn(100, 64);
        var decoder = new DecoderRnn(64, 120);
        var encoderOptimizer = optim.SGD(encoder.parameters(), 0.01);
        var decoderOptimizer = optim.SGD(decoder.parameters(), 0.01);
        var random = new Random(1);
        for (var it = 0; it < iterations; it++)
        {
            var source = randint(1, 100, new long[] { 8, 10 });
            var target = randint(1, 120, new long[] { 8, 12 });
            var loss = TrainPair(source, target, encoder, decoder, encoderOptimizer, decoderOptimizer, random.NextDouble() < 0.5);
            if (it % 100 == 0) Console.WriteLine($"{it} {loss:F4}");
        }
    }
}
