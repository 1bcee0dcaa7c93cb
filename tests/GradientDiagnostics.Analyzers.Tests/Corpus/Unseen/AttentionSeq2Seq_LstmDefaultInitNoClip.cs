// Bahdanau-style attention seq2seq: LSTM encoder, LSTMCell decoder with additive attention (Linear layers,
// not recurrence). Both recurrent modules keep their default initialisation and the step does not clip.
using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Corpus.Attention;

public sealed class AdditiveAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear query = nn.Linear(128, 64);
    private readonly Linear key = nn.Linear(128, 64);
    private readonly Linear score = nn.Linear(64, 1);

    public AdditiveAttention() : base(nameof(AdditiveAttention)) => RegisterComponents();

    public override Tensor forward(Tensor decoderState, Tensor encoderOutputs)
    {
        var energy = tanh(query.call(decoderState).unsqueeze(1) + key.call(encoderOutputs));
        var weights = nn.functional.softmax(score.call(energy).squeeze(-1), 1);
        return bmm(weights.unsqueeze(1), encoderOutputs).squeeze(1);
    }
}

public sealed class AttentionSeq2Seq : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding sourceEmbedding = nn.Embedding(3000, 64);
    private readonly Embedding targetEmbedding = nn.Embedding(3000, 64);
    private readonly LSTM encoder = nn.LSTM(64, 128, batchFirst: true); // expect: GD0004
    private readonly LSTMCell decoder = nn.LSTMCell(64 + 128, 128); // expect: GD0004
    private readonly AdditiveAttention attention = new();
    private readonly Linear generator = nn.Linear(128, 3000);

    public AttentionSeq2Seq() : base(nameof(AttentionSeq2Seq)) => RegisterComponents();

    public override Tensor forward(Tensor source, Tensor target)
    {
        var (memory, h, c) = encoder.call(sourceEmbedding.call(source));
        var state = (h[0], c[0]);
        var logits = new List<Tensor>();
        for (long t = 0; t < target.shape[1]; t++)
        {
            var context = attention.call(state.Item1, memory);
            var input = cat(new[] { targetEmbedding.call(target[TensorIndex.Colon, t]), context }, 1);
            state = decoder.call(input, state);
            logits.Add(generator.call(state.Item1));
        }

        return stack(logits, 1);
    }
}

public static class Program
{
    public static void Main()
    {
        var model = new AttentionSeq2Seq();
        var optimizer = optim.Adam(model.parameters(), 5e-4);
        for (var step = 0; step < 1000; step++)
        {
            using var scope = NewDisposeScope();
            var source = randint(0, 3000, new long[] { 16, 25 });
            var target = randint(0, 3000, new long[] { 16, 21 });
            optimizer.zero_grad();
            var logits = model.call(source, target[TensorIndex.Colon, TensorIndex.Slice(0, 20)]);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, 3000), target[TensorIndex.Colon, TensorIndex.Slice(1, 21)].reshape(-1));
            loss.backward();
            optimizer.step(); // expect: GD0001
        }
    }
}
