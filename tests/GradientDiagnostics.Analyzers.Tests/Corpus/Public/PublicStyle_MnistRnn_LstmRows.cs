// public-style: in the style of dotnet/TorchSharpExamples' MNISTRnn (each 28x28 image read row by row by a
// batch-first LSTM, batch norm, two dropouts, log-softmax head) with a per-epoch train function. Paraphrased.
using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace PublicStyle.MnistRnn
{
    public class RowLstmModel : Module<Tensor, Tensor>
    {
        private TorchSharp.Modules.LSTM rnn;
        private TorchSharp.Modules.BatchNorm1d norm;
        private Module<Tensor, Tensor> drop1 = Dropout(0.25);
        private Module<Tensor, Tensor> drop2 = Dropout(0.5);
        private TorchSharp.Modules.Linear fc1 = Linear(64, 32);
        private TorchSharp.Modules.Linear fc2 = Linear(32, 10);

        public RowLstmModel(string name) : base(name)
        {
            rnn = LSTM(inputSize: 28, hiddenSize: 64, batchFirst: true); // expect: GD0004
            norm = BatchNorm1d(64);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var x = input.reshape(-1, 28, 28);
            var (output, _, _) = rnn.forward(x);
            x = output[TensorIndex.Colon, TensorIndex.Single(-1), TensorIndex.Colon];
            x = drop1.forward(norm.forward(x));
            x = drop2.forward(relu(fc1.forward(x)));
            return log_softmax(fc2.forward(x), dim: 1);
        }
    }

    public static class MnistRnnTraining
    {
        public static void Train(RowLstmModel model, TorchSharp.torch.optim.Optimizer optimizer, Loss<Tensor, Tensor, Tensor> loss,
            IEnumerable<(Tensor data, Tensor target)> batches, int epoch)
        {
            model.train();
            var batchId = 1;
            foreach (var (data, target) in batches)
            {
                using var d = NewDisposeScope();
                optimizer.zero_grad();
                var prediction = model.call(data);
                var output = loss.call(prediction, target);
                output.backward();
                optimizer.step(); // expect: GD0001
                if (batchId % 100 == 0)
                {
                    Console.WriteLine($"\rTrain: epoch {epoch} [{batchId}] Loss: {output.item<float>():F4}");
                }

                batchId++;
            }
        }

        public static void Run(int epochs)
        {
            var model = new RowLstmModel("mnist-rnn");
            var optimizer = TorchSharp.torch.optim.Adam(model.parameters(), 1e-3);
            var scheduler = TorchSharp.torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.7);
            var data = new List<(Tensor, Tensor)>();
            for (var i = 0; i < 10; i++) data.Add((randn(64, 1, 28, 28), randint(0, 10, new long[] { 64 })));
            for (var epoch = 1; epoch <= epochs; epoch++)
            {
                Train(model, optimizer, NLLLoss(), data, epoch);
                scheduler.step();
            }
        }
    }
}
