// public-style: in the style of a public TorchSharp IMDB sentiment example (RNNModel with static vocabulary
// constants, an "lstm"/"gru" switch, zero initial state built in forward, a Sequential dropout/dense/sigmoid
// head) plus the usual Adam + BCELoss loop. Paraphrased. Recurrent modules at default init; no clipping.
using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PublicStyle.Imdb
{
    class SentimentRnn : Module<Tensor, Tensor>
    {
        public static int VocabularySize = 10000;
        public static int EmbeddingLength = 300;
        public static int HiddenSize = 512;

        private readonly Module<Tensor, Tensor> head;
        private readonly Module<Tensor, Tensor> embedding;
        private readonly TorchSharp.Modules.LSTM? lstm;
        private readonly TorchSharp.Modules.GRU? gru;
        private readonly string cellType;

        public SentimentRnn(string name, string cellType) : base(name)
        {
            this.cellType = cellType;
            embedding = Embedding(VocabularySize, EmbeddingLength);
            if (cellType == "lstm")
                lstm = LSTM(EmbeddingLength, HiddenSize, batchFirst: true); // expect: GD0004
            else
                gru = GRU(EmbeddingLength, HiddenSize, batchFirst: true); // expect: GD0004

            var modules = new List<(string, Module<Tensor, Tensor>)>
            {
                ("dropout", Dropout(0.5)),
                ("dense", Linear(HiddenSize, 1)),
                ("sigmoid", Sigmoid()),
            };
            head = Sequential(modules);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var embedded = embedding.forward(input);
            var h0 = zeros(1, input.shape[0], HiddenSize);
            Tensor sequence;
            if (cellType == "lstm")
            {
                var c0 = zeros(1, input.shape[0], HiddenSize);
                (sequence, _, _) = lstm!.forward(embedded, (h0, c0));
            }
            else
            {
                (sequence, _) = gru!.forward(embedded, h0);
            }

            return head.forward(sequence[.., -1, ..]);
        }
    }

    static class ImdbTraining
    {
        public static void Train(string cellType, int epochs)
        {
            var model = new SentimentRnn("imdb", cellType);
            var optimizer = TorchSharp.torch.optim.Adam(model.parameters(), 1e-3);
            var criterion = BCELoss();
            for (var epoch = 0; epoch < epochs; epoch++)
            {
                for (var batch = 0; batch < 100; batch++)
                {
                    using var d = NewDisposeScope();
                    var reviews = randint(0, SentimentRnn.VocabularySize, new long[] { 64, 200 });
                    var labels = randint(0, 2, new long[] { 64, 1 }).to_type(ScalarType.Float32);
                    optimizer.zero_grad();
                    var loss = criterion.forward(model.forward(reviews), labels);
                    loss.backward();
                    optimizer.step(); // expect: GD0001
                }
            }
        }
    }
}
