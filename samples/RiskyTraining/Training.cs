using static TorchSharp.torch;

namespace RiskyTraining;

/// <summary>Three training loops, each written the way people first write it.</summary>
public static class Training
{
    private const int ChunkLength = 32;

    /// <summary>Truncated-BPTT language modelling over one long character stream.</summary>
    public static double TrainCharRnn(int steps)
    {
        var stream = Data.CharacterStream(repeats: 20);
        using var model = new CharRnn(Data.Alphabet.Length, hidden: 64);
        using var optimizer = optim.Adam(model.parameters(), 3e-3);
        Tensor? hidden = null;
        var loss = double.NaN;
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var start = step * ChunkLength % (stream.shape[0] - ChunkLength - 1);
            var inputs = stream.narrow(0, start, ChunkLength).unsqueeze(0);
            var targets = stream.narrow(0, start + 1, ChunkLength);

            optimizer.zero_grad();
            var (logits, next) = model.call(inputs, hidden);
            // GD0002: MoveToOuterDisposeScope keeps the state alive across iterations but does not detach it,
            // so every backward() runs through all earlier chunks.
            hidden = next.MoveToOuterDisposeScope();
            var chunkLoss = nn.functional.cross_entropy(logits.reshape(-1, Data.Alphabet.Length), targets);
            // GD0009: retain_graph silences "backward through the graph a second time" by keeping every chunk's graph.
            chunkLoss.backward(retain_graph: true);
            // GD0001: nothing clips the gradient between backward() and step().
            optimizer.step();
            loss = chunkLoss.item<float>();
        }

        return loss;
    }

    /// <summary>Sentence classification, a few epochs over freshly drawn batches.</summary>
    public static double TrainSentimentLstm(int epochs, int batchesPerEpoch)
    {
        const int vocabulary = 20;
        var generator = new Generator(11);
        using var model = new SentimentLstm(vocabulary, hidden: 32);
        using var optimizer = optim.Adam(model.parameters(), 1e-3);
        var loss = double.NaN;
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            for (var batch = 0; batch < batchesPerEpoch; batch++)
            {
                using var scope = NewDisposeScope();
                var (tokens, labels) = Data.Sentences(batch: 16, length: 24, vocabulary, generator);
                var batchLoss = nn.functional.cross_entropy(model.call(tokens), labels);
                // GD0008: no zero_grad() anywhere in the loop, so each step applies the sum of all earlier gradients.
                batchLoss.backward();
                optimizer.step();
                // GD0006: clipping after step() changes gradients that were already applied.
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                loss = batchLoss.item<float>();
            }
        }

        return loss;
    }

    /// <summary>One-step-ahead forecasting of sine waves.</summary>
    public static double TrainForecaster(int steps)
    {
        var generator = new Generator(5);
        using var model = new SeriesForecaster(hidden: 24);
        using var optimizer = optim.SGD(model.parameters(), 0.05);
        var loss = double.NaN;
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var (series, next) = Data.Sines(batch: 16, length: 40, generator);
            optimizer.zero_grad();
            var stepLoss = nn.functional.mse_loss(model.call(series), next);
            stepLoss.backward();
            // GD0007: a threshold of 10000 is far above any gradient norm worth allowing; it never clips.
            nn.utils.clip_grad_norm_(model.parameters(), 10_000);
            optimizer.step();
            loss = stepLoss.item<float>();
        }

        return loss;
    }
}
