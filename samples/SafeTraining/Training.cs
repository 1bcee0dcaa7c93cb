using static TorchSharp.torch;

namespace SafeTraining;

/// <summary>The three training loops of samples/RiskyTraining, written the safe way.</summary>
public static class Training
{
    private const int ChunkLength = 32;
    private const double MaxGradientNorm = 1.0;

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
            // Truncated BPTT: the state carries the text's context forward, the graph stops at the chunk boundary.
            hidden?.Dispose();
            hidden = next.detach().MoveToOuterDisposeScope();
            var chunkLoss = nn.functional.cross_entropy(logits.reshape(-1, Data.Alphabet.Length), targets);
            chunkLoss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), MaxGradientNorm);
            optimizer.step();
            loss = chunkLoss.item<float>();
        }

        hidden?.Dispose();
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
                optimizer.zero_grad();
                var batchLoss = nn.functional.cross_entropy(model.call(tokens), labels);
                batchLoss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), MaxGradientNorm);
                optimizer.step();
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
            nn.utils.clip_grad_norm_(model.parameters(), MaxGradientNorm);
            optimizer.step();
            loss = stepLoss.item<float>();
        }

        return loss;
    }
}
