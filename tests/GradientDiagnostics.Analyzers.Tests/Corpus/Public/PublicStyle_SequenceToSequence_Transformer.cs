// public-style: in the style of dotnet/TorchSharpExamples' SequenceToSequence (transformer language model on
// WikiText2 batches with a square subsequent mask, SGD, StepLR, clip 0.5). Paraphrased. Not recurrent.
using System;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PublicStyle.SequenceToSequence
{
    class PositionEncoder : Module<Tensor, Tensor>
    {
        private Module<Tensor, Tensor> dropout;
        private Tensor table;

        public PositionEncoder(long dModel, double p, int maxLen = 5000) : base("PositionalEncoding")
        {
            dropout = Dropout(p);
            var pe = zeros(maxLen, dModel);
            var position = arange(0, maxLen, 1).unsqueeze(1);
            var divTerm = exp(arange(0, dModel, 2) * (-Math.Log(10000.0) / dModel));
            pe[TensorIndex.Ellipsis, TensorIndex.Slice(0, null, 2)] = sin(position * divTerm);
            pe[TensorIndex.Ellipsis, TensorIndex.Slice(1, null, 2)] = cos(position * divTerm);
            table = pe.unsqueeze(0).transpose(0, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor t) => dropout.forward(t + table[TensorIndex.Slice(null, t.shape[0]), TensorIndex.Slice()]);
    }

    class TransformerLM : Module<Tensor, Tensor, Tensor>
    {
        private TorchSharp.Modules.TransformerEncoder encoder;
        private PositionEncoder positions;
        private TorchSharp.Modules.Embedding embedding;
        private TorchSharp.Modules.Linear decoder;
        private long ninputs;

        public TransformerLM(long ntokens, long ninputs, long heads, long hidden, long layers, double p = 0.5) : base("Transformer")
        {
            this.ninputs = ninputs;
            positions = new PositionEncoder(ninputs, p);
            encoder = TransformerEncoder(TransformerEncoderLayer(ninputs, heads, hidden, p), layers);
            embedding = Embedding(ntokens, ninputs);
            decoder = Linear(ninputs, ntokens);
            init.uniform_(embedding.weight, -0.1, 0.1);
            init.zeros_(decoder.bias);
            init.uniform_(decoder.weight, -0.1, 0.1);
            RegisterComponents();
        }

        public Tensor SubsequentMask(long size)
        {
            var mask = (ones(size, size) == 1).triu().transpose(0, 1);
            return mask.to_type(ScalarType.Float32).masked_fill(mask == 0, float.NegativeInfinity).masked_fill(mask == 1, 0.0f);
        }

        public override Tensor forward(Tensor t, Tensor mask)
        {
            var src = positions.forward(embedding.forward(t) * MathF.Sqrt(ninputs));
            return decoder.forward(encoder.call(src, mask, null));
        }
    }

    static class LanguageModeling
    {
        static void train(int epoch, Tensor trainData, TransformerLM model, Loss<Tensor, Tensor, Tensor> criterion, int bptt, int ntokens, TorchSharp.torch.optim.Optimizer optimizer)
        {
            model.train();
            var mask = model.SubsequentMask(bptt);
            var total = 0.0f;
            for (int i = 0, batch = 0; i < trainData.shape[0] - 1; batch++, i += bptt)
            {
                var len = Math.Min(bptt, trainData.shape[0] - 1 - i);
                var data = trainData[TensorIndex.Slice(i, i + len)];
                var targets = trainData[TensorIndex.Slice(i + 1, i + 1 + len)].reshape(-1);
                optimizer.zero_grad();
                if (data.shape[0] != bptt)
                {
                    mask.Dispose();
                    mask = model.SubsequentMask(data.shape[0]);
                }

                using (var output = model.forward(data, mask))
                {
                    var loss = criterion.forward(output.view(-1, ntokens), targets);
                    loss.backward();
                    TorchSharp.torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5);
                    optimizer.step();
                    total += loss.item<float>();
                }

                if (batch % 200 == 0 && batch > 0)
                {
                    Console.WriteLine($"epoch: {epoch} | batch: {batch} | loss: {total / 200:0.00}");
                    total = 0;
                }
            }
        }

        public static void Run(int epochs)
        {
            var ntokens = 28000;
            var model = new TransformerLM(ntokens, 200, 2, 200, 2, 0.2);
            var optimizer = TorchSharp.torch.optim.SGD(model.parameters(), 2.5);
            var scheduler = TorchSharp.torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.95);
            var data = randint(0, ntokens, new long[] { 3200, 64 });
            for (var epoch = 1; epoch <= epochs; epoch++)
            {
                train(epoch, data, model, CrossEntropyLoss(), 32, ntokens, optimizer);
                scheduler.step();
            }
        }
    }
}
