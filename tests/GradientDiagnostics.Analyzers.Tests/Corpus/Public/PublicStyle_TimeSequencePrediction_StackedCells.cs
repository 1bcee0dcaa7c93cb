// public-style: in the style of dotnet/TorchSharpExamples' TimeSequencePrediction (two stacked LSTMCells
// unrolled over sine waves inside forward, then extrapolated `future` steps). Paraphrased, trained here with
// Adam instead of LBFGS. The within-sequence state flow in forward is ordinary BPTT, not a carried state.
using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PublicStyle.TimeSequence
{
    public class SineModel : Module<Tensor, int, Tensor>
    {
        private TorchSharp.Modules.LSTMCell cell1;
        private TorchSharp.Modules.LSTMCell cell2;
        private TorchSharp.Modules.Linear linear;

        public SineModel(string name) : base(name)
        {
            cell1 = LSTMCell(1, 51); // expect: GD0004
            cell2 = LSTMCell(51, 51); // expect: GD0004
            linear = Linear(51, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input, int future)
        {
            var outputs = new List<Tensor>();
            var n = input.shape[0];
            var h1 = zeros(n, 51, dtype: float64);
            var c1 = zeros(n, 51, dtype: float64);
            var h2 = zeros(n, 51, dtype: float64);
            var c2 = zeros(n, 51, dtype: float64);
            Tensor? output = null;
            foreach (var step in input.split(1, dim: 1))
            {
                (h1, c1) = cell1.forward(step, (h1, c1));
                (h2, c2) = cell2.forward(h1, (h2, c2));
                output = linear.forward(h2);
                outputs.Add(output);
            }

            for (var i = 0; i < future; i++)
            {
                (h1, c1) = cell1.forward(output!, (h1, c1));
                (h2, c2) = cell2.forward(h1, (h2, c2));
                output = linear.forward(h2);
                outputs.Add(output);
            }

            return cat(outputs, dim: 1);
        }
    }

    public static class SinePrediction
    {
        private static Tensor SineWaves(int count, int length, int period)
        {
            var random = new Random(2);
            var values = new double[count, length];
            for (var i = 0; i < count; i++)
            {
                var shift = random.Next(-4 * period, 4 * period);
                for (var j = 0; j < length; j++) values[i, j] = Math.Sin((j + shift) / (double)period);
            }

            return tensor(values, dtype: float64);
        }

        public static void Run(int epochs)
        {
            var data = SineWaves(100, 1000, 20);
            var input = data[TensorIndex.Slice(3, null), TensorIndex.Slice(null, -1)];
            var target = data[TensorIndex.Slice(3, null), TensorIndex.Slice(1, null)];
            var model = new SineModel("sine");
            model.to(float64);
            var criterion = MSELoss();
            var optimizer = TorchSharp.torch.optim.Adam(model.parameters(), 0.01);
            for (var epoch = 0; epoch < epochs; epoch++)
            {
                using var d = NewDisposeScope();
                optimizer.zero_grad();
                var loss = criterion.forward(model.forward(input, 0), target);
                loss.backward();
                optimizer.step(); // expect: GD0001
                Console.WriteLine($"STEP {epoch}: loss {loss.item<double>():F6}");
            }
        }
    }
}
