// public-style: in the style of dotnet/TorchSharpExamples' TextClassification (AG_NEWS, EmbeddingBag +
// Linear with uniform init, SGD lr 5, StepLR, clip 0.5, a train(...) function per epoch). Paraphrased.
// Not recurrent: nothing to report.
using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PublicStyle.TextClassification
{
    public class BagOfEmbeddingsModel : Module<Tensor, Tensor, Tensor>
    {
        private TorchSharp.Modules.EmbeddingBag embedding;
        private TorchSharp.Modules.Linear fc;

        public BagOfEmbeddingsModel(long vocabSize, long embedDim, long classes) : base("TextClassification")
        {
            embedding = EmbeddingBag(vocabSize, embedDim, sparse: false);
            fc = Linear(embedDim, classes);
            InitWeights();
            RegisterComponents();
        }

        private void InitWeights()
        {
            const double range = 0.5;
            init.uniform_(embedding.weight, -range, range);
            init.uniform_(fc.weight, -range, range);
            init.zeros_(fc.bias);
        }

        public override Tensor forward(Tensor input, Tensor offsets) => fc.forward(embedding.call(input, offsets));
    }

    public static class NewsClassification
    {
        static void train(int epoch, IEnumerable<(Tensor, Tensor, Tensor)> batches, BagOfEmbeddingsModel model,
            Loss<Tensor, Tensor, Tensor> criterion, TorchSharp.torch.optim.Optimizer optimizer)
        {
            model.train();
            double totalAccuracy = 0.0;
            long totalCount = 0;
            var batch = 0;
            using (var d = NewDisposeScope())
            {
                foreach (var (labels, texts, offsets) in batches)
                {
                    optimizer.zero_grad();
                    using (var predicted = model.forward(texts, offsets))
                    {
                        var loss = criterion.forward(predicted, labels);
                        loss.backward();
                        TorchSharp.torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5);
                        optimizer.step();
                        totalAccuracy += (predicted.argmax(1) == labels).sum().item<long>();
                        totalCount += labels.size(0);
                    }

                    if (batch++ % 250 == 0) Console.WriteLine($"epoch {epoch} | batch {batch} | accuracy {totalAccuracy / totalCount:0.00}");
                }
            }
        }

        public static void Run(int epochs)
        {
            var model = new BagOfEmbeddingsModel(95000, 200, 4);
            var optimizer = TorchSharp.torch.optim.SGD(model.parameters(), 5.0);
            var scheduler = TorchSharp.torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.2);
            var data = Enumerable.Range(0, 20).Select(_ => (randint(0, 4, new long[] { 128 }), randint(0, 95000, new long[] { 128 * 30 }), arange(0, 128 * 30, 30))).ToList();
            foreach (var epoch in Enumerable.Range(1, epochs))
            {
                train(epoch, data, model, CrossEntropyLoss(), optimizer);
                scheduler.step();
            }
        }
    }
}
