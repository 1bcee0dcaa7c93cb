// public-style: in the style of dotnet/TorchSharpExamples' MNIST example (LeNet-like conv net, NLL loss,
// Adam, StepLR, train/test functions with dispose scopes). Paraphrased. Not recurrent: nothing to report.
using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace PublicStyle.Mnist
{
    public class ConvModel : Module<Tensor, Tensor>
    {
        private Module<Tensor, Tensor> conv1 = Conv2d(1, 32, 3);
        private Module<Tensor, Tensor> conv2 = Conv2d(32, 64, 3);
        private Module<Tensor, Tensor> fc1 = Linear(9216, 128);
        private Module<Tensor, Tensor> fc2 = Linear(128, 10);
        private Module<Tensor, Tensor> pool1 = MaxPool2d(kernel_size: new long[] { 2, 2 });
        private Module<Tensor, Tensor> dropout1 = Dropout(0.25);
        private Module<Tensor, Tensor> dropout2 = Dropout(0.5);
        private Module<Tensor, Tensor> flatten = Flatten();

        public ConvModel(string name) : base(name) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            var x = relu(conv1.forward(input));
            x = dropout1.forward(pool1.forward(relu(conv2.forward(x))));
            x = dropout2.forward(relu(fc1.forward(flatten.forward(x))));
            return log_softmax(fc2.forward(x), 1);
        }
    }

    public static class MnistTraining
    {
        private static void Train(ConvModel model, TorchSharp.torch.optim.Optimizer optimizer, Loss<Tensor, Tensor, Tensor> loss,
            IEnumerable<(Tensor, Tensor)> dataLoader, int epoch)
        {
            model.train();
            int batchId = 1;
            foreach (var (data, target) in dataLoader)
            {
                using (var d = NewDisposeScope())
                {
                    optimizer.zero_grad();
                    var prediction = model.forward(data);
                    var output = loss.forward(prediction, target);
                    output.backward();
                    optimizer.step();
                    if (batchId % 100 == 0) Console.WriteLine($"Train: epoch {epoch} [{batchId}] Loss: {output.item<float>():F4}");
                    batchId++;
                }
            }
        }

        private static void Test(ConvModel model, Loss<Tensor, Tensor, Tensor> loss, IEnumerable<(Tensor, Tensor)> dataLoader)
        {
            model.eval();
            double testLoss = 0;
            long correct = 0;
            using (no_grad())
            {
                foreach (var (data, target) in dataLoader)
                {
                    using var d = NewDisposeScope();
                    var prediction = model.forward(data);
                    testLoss += loss.forward(prediction, target).item<float>();
                    correct += prediction.argmax(1).eq(target).sum().item<long>();
                }
            }

            Console.WriteLine($"Test: loss {testLoss:F4}, correct {correct}");
        }

        public static void Run(int epochs)
        {
            var model = new ConvModel("mnist");
            var optimizer = TorchSharp.torch.optim.Adam(model.parameters());
            var scheduler = TorchSharp.torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.75);
            var batches = new List<(Tensor, Tensor)>();
            for (var i = 0; i < 5; i++) batches.Add((randn(64, 1, 28, 28), randint(0, 10, new long[] { 64 })));
            for (var epoch = 1; epoch <= epochs; epoch++)
            {
                Train(model, optimizer, NLLLoss(), batches, epoch);
                Test(model, NLLLoss(), batches);
                scheduler.step();
            }
        }
    }
}
