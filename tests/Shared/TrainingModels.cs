namespace GradientDiagnostics.Testing;

/// <summary>
/// Model classes as TorchSharp users write them, appended to test sources that start with
/// <c>using TorchSharp; using static TorchSharp.torch;</c>.
/// </summary>
public static class TrainingModels
{
    public const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using TorchSharp;
        using static TorchSharp.torch;

        """;

    /// <summary>A training loop that watches a model class named <c>Tagger</c> (needs <c>using GradientDiagnostics;</c> and the runtime referenced).</summary>
    public const string WatchedTaggerTraining = """

        static class Training
        {
            public static void Run(Tagger model, IEnumerable<(Tensor X, Tensor Y)> batches)
            {
                var optimizer = optim.Adam(model.parameters());
                using var watch = GradientWatch.Attach(model);
                var step = 0;
                foreach (var (x, y) in batches)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    watch.Record(++step);
                    optimizer.step();
                }
            }
        }
        """;

    /// <summary>LSTM sequence-to-one regressor (the adding problem).</summary>
    public const string Seq2One = """

        sealed class Seq2One : nn.Module<Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.LSTM lstm;
            private readonly TorchSharp.Modules.Linear head;

            public Seq2One(long inputSize, long hiddenSize) : base(nameof(Seq2One))
            {
                lstm = nn.LSTM(inputSize, hiddenSize, batchFirst: true);
                head = nn.Linear(hiddenSize, 1);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var (output, _, _) = lstm.call(x);
                return head.call(output.select(1, -1));
            }
        }
        """;

    /// <summary>A GRU encoder held by a forecaster: recurrent only through a submodule field.</summary>
    public const string Forecaster = """

        sealed class Encoder : nn.Module<Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.GRU gru;

            public Encoder(long inputSize, long hiddenSize) : base(nameof(Encoder))
            {
                gru = nn.GRU(inputSize, hiddenSize, batchFirst: true);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var (output, _) = gru.call(x);
                return output.select(1, -1);
            }
        }

        sealed class Forecaster : nn.Module<Tensor, Tensor>
        {
            private readonly Encoder encoder;
            private readonly TorchSharp.Modules.Linear head;

            public Forecaster() : base(nameof(Forecaster))
            {
                encoder = new Encoder(4, 64);
                head = nn.Linear(64, 1);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => head.call(encoder.call(x));
        }
        """;

    /// <summary>A plain multilayer perceptron: not recurrent.</summary>
    public const string Mlp = """

        sealed class Mlp : nn.Module<Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.Linear hidden;
            private readonly TorchSharp.Modules.Linear output;

            public Mlp(long inputSize, long hiddenSize, long outputSize) : base(nameof(Mlp))
            {
                hidden = nn.Linear(inputSize, hiddenSize);
                output = nn.Linear(hiddenSize, outputSize);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => output.call(nn.functional.relu(hidden.call(x)));
        }
        """;

    /// <summary>A user class that happens to be named LSTM but holds only Linear layers: not recurrent.</summary>
    public const string UserNamedLstm = """

        sealed class LSTM : nn.Module<Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.Linear gate;
            private readonly TorchSharp.Modules.Linear output;

            public LSTM(long size) : base("LSTM")
            {
                gate = nn.Linear(size, size);
                output = nn.Linear(size, 1);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => output.call(sigmoid(gate.call(x)) * x);
        }
        """;
}
