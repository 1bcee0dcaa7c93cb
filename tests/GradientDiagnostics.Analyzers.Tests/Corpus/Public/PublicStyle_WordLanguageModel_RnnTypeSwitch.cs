// public-style: written in the style of dotnet/TorchSharpExamples' WordLanguageModel (RNNModel with an
// rnn-type switch, manual SGD update, clip 0.25, hidden detached per batch). Paraphrased, not copied.
// Only the word embedding and decoder are initialised; the recurrent module keeps its default weights.
using System;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PublicStyle.WordLanguageModel
{
    public class RecurrentLM : Module<Tensor, Tensor, (Tensor output, Tensor hidden)>
    {
        private TorchSharp.Modules.Dropout dropout;
        private TorchSharp.Modules.Embedding embedding;
        private TorchSharp.Modules.Linear projection;
        private TorchSharp.Modules.LSTM? lstm;
        private Module<Tensor, Tensor, (Tensor, Tensor)>? other;
        private readonly string kind;
        private readonly long layers;
        private readonly long hiddenSize;

        public RecurrentLM(string kind, long tokens, long inputSize, long hiddenSize, long layers, double p = 0.5) : base("RecurrentLM")
        {
            this.kind = kind;
            this.layers = layers;
            this.hiddenSize = hiddenSize;
            dropout = Dropout(p);
            embedding = Embedding(tokens, inputSize);
            if (kind == "LSTM")
            {
                lstm = LSTM(inputSize, hiddenSize, numLayers: layers, dropout: p); // expect: GD0004
            }
            else if (kind == "GRU")
            {
                other = GRU(inputSize, hiddenSize, numLayers: layers, dropout: p); // expect: GD0004
            }
            else if (kind == "RNN_TANH")
            {
                other = RNN(inputSize, hiddenSize, numLayers: layers, nonLinearity: NonLinearities.Tanh, dropout: p); // expect: GD0003, GD0005
            }
            else
            {
                other = RNN(inputSize, hiddenSize, numLayers: layers, nonLinearity: NonLinearities.ReLU, dropout: p); // expect: GD0003, GD0005
            }

            projection = Linear(hiddenSize, tokens);
            InitWeights();
            RegisterComponents();
        }

        private void InitWeights()
        {
            const double range = 0.1;
            init.uniform_(embedding.weight, -range, range);
            init.zeros_(projection.bias);
            init.uniform_(projection.weight, -range, range);
        }

        public override (Tensor output, Tensor hidden) forward(Tensor input, Tensor hidden)
        {
            var emb = dropout.forward(embedding.forward(input));
            Tensor output;
            if (lstm is not null)
            {
                var h = hidden[TensorIndex.Slice(0, layers)];
                var c = hidden[TensorIndex.Slice(layers, null)];
                var (y, hn, cn) = lstm.forward(emb, (h, c));
                output = y;
                hidden = cat(new[] { hn, cn }, 0);
            }
            else
            {
                var (y, hn) = other!.forward(emb, hidden);
                output = y;
                hidden = hn;
            }

            var decoded = projection.forward(dropout.forward(output));
            return (functional.log_softmax(decoded.view(-1, decoded.shape[2]), 1), hidden);
        }

        public Tensor FreshHidden(long batch) =>
            kind == "LSTM" ? zeros(2 * layers, batch, hiddenSize) : zeros(layers, batch, hiddenSize);
    }

    public static class LanguageModelTraining
    {
        private const int Bptt = 35;

        public static void TrainEpoch(Tensor data, RecurrentLM model, int tokens, double lr, int batchSize)
        {
            model.train();
            var criterion = NLLLoss();
            var hidden = model.FreshHidden(batchSize);
            using var scope = NewDisposeScope();
            for (int i = 0, batch = 0; i < data.shape[0] - 1; batch++, i += Bptt)
            {
                var len = Math.Min(Bptt, (int)(data.shape[0] - 1 - i));
                var x = data[TensorIndex.Slice(i, i + len)];
                var y = data[TensorIndex.Slice(i + 1, i + 1 + len)].reshape(-1);

                hidden = hidden.detach();
                model.zero_grad();
                var (output, next) = model.forward(x, hidden);
                hidden = next;
                var loss = criterion.forward(output, y);
                loss.backward();
                TorchSharp.torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25);
                using (no_grad())
                {
                    foreach (var p in model.parameters())
                    {
                        p.add_(p.grad!, alpha: -lr);
                    }
                }

                scope.DisposeEverythingBut(hidden);
            }
        }
    }
}
