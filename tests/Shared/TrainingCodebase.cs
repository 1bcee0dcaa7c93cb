using System.Collections.Immutable;
using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace GradientDiagnostics.Testing;

/// <summary>
/// A deterministic, compiling TorchSharp codebase of the shape real projects have: recurrent and feed-forward models,
/// hand-unrolled cells, training loops (some with the mistakes the rules catch, some clean), data and utility classes.
/// Files come in groups of <see cref="FilesPerGroup"/> that reference each other across files.
/// The <em>clean</em> variant is the same codebase written the safe way (gated cells, explicit initialisation, clipping in
/// every recurrent training step): training code on which a precise analyzer reports nothing, the corpus the cost is read on.
/// </summary>
public static class TrainingCodebase
{
    public const int FilesPerGroup = 7;

    /// <summary>At least <paramref name="minimumFiles"/> files, rounded up to whole groups; <paramref name="clean"/> selects the clean variant.</summary>
    public static ImmutableArray<(string Path, string Text)> Generate(int minimumFiles, bool clean = false)
    {
        var files = ImmutableArray.CreateBuilder<(string, string)>();
        for (var group = 0; files.Count < minimumFiles; group++)
        {
            files.AddRange(Group(group, clean));
        }

        return files.ToImmutable();
    }

    public static ImmutableArray<(string Path, string Text)> Group(int k, bool clean = false)
    {
        var ns = $"Contoso.Training.Area{k % 12}";
        return
        [
            ($"Area{k % 12}/Models/SequenceModel{k}.cs", RecurrentModel(ns, k, clean)),
            ($"Area{k % 12}/Models/UnrolledCellModel{k}.cs", CellModel(ns, k, clean)),
            ($"Area{k % 12}/Models/FeedForwardModel{k}.cs", FeedForwardModel(ns, k)),
            ($"Area{k % 12}/Training/SequenceTrainer{k}.cs", SequenceTrainer(ns, k, clean)),
            ($"Area{k % 12}/Training/{(k % 2 == 0 ? "StatefulTrainer" : "ClassifierTrainer")}{k}.cs", k % 2 == 0 ? StatefulTrainer(ns, k) : ClassifierTrainer(ns, k)),
            ($"Area{k % 12}/Data/SyntheticSequences{k}.cs", Data(ns, k)),
            ($"Area{k % 12}/Utilities/TrainingUtilities{k}.cs", Utilities(ns, k)),
        ];
    }

    /// <summary>Parses the files as C# 12 into syntax trees whose paths are the generated relative paths.</summary>
    public static ImmutableArray<SyntaxTree> Parse(IEnumerable<(string Path, string Text)> files, CSharpParseOptions? options = null) =>
        files.Select(f => CSharpSyntaxTree.ParseText(f.Text, options ?? ParseOptions, f.Path)).ToImmutableArray();

    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.CSharp12);

    /// <summary>
    /// The running .NET's platform assemblies plus TorchSharp, enough to bind the generated code without errors, and
    /// GradientDiagnostics.Runtime: the codebase is a project with the watch's package, where every rule (GD0010 too) runs.
    /// </summary>
    public static ImmutableArray<MetadataReference> References { get; } = PlatformReferences()
        .Add(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location))
        .Add(MetadataReference.CreateFromFile(typeof(GradientDiagnostics.GradientWatch).Assembly.Location));

    public static CSharpCompilation Compile(string assemblyName, IEnumerable<SyntaxTree> trees, IEnumerable<MetadataReference>? references = null) =>
        CSharpCompilation.Create(
            assemblyName,
            trees,
            references ?? References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, concurrentBuild: true));

    public static ImmutableArray<MetadataReference> PlatformReferences() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is var name && (name.StartsWith("System.", StringComparison.Ordinal) || name is "netstandard.dll" or "mscorlib.dll" or "System.dll"))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();

    private static string F(double value) => value.ToString("0.0###", CultureInfo.InvariantCulture);

    private static string RecurrentModel(string ns, int k, bool clean)
    {
        var kind = (k % 3) switch { 0 => "LSTM", 1 => "GRU", _ => clean ? "GRU" : "RNN" };
        var initialised = clean || k % 4 != 1;
        var call = kind == "LSTM" ? "var (output, _, _) = recurrent.call(input);" : "var (output, _) = recurrent.call(input);";
        var create = kind == "RNN"
            ? $"nn.RNN(inputSize, hiddenSize, numLayers: {1 + (k % 2)}, nonLinearity: nn.NonLinearities.{(k % 2 == 0 ? "Tanh" : "ReLU")}, batchFirst: true)"
            : $"nn.{kind}(inputSize, hiddenSize, numLayers: {1 + (k % 2)}, batchFirst: true)";
        var init = initialised ? $$"""

                    using (no_grad())
                    {
                        foreach (var (name, parameter) in recurrent.named_parameters())
                        {
                            if (name.StartsWith("weight_hh", StringComparison.Ordinal))
                            {
                                nn.init.orthogonal_(parameter);
                            }
                            else if (name.StartsWith("weight_ih", StringComparison.Ordinal))
                            {
                                nn.init.xavier_uniform_(parameter);
                            }
                            else
                            {
                                nn.init.zeros_(parameter);
                            }
                        }
                    }
            """ : string.Empty;
        return $$"""
            using System;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            namespace {{ns}}.Models;

            /// <summary>Sequence-to-one regressor over a {{kind}} encoder.</summary>
            public sealed class SequenceModel{{k}} : nn.Module<Tensor, Tensor>
            {
                private readonly {{kind}} recurrent;
                private readonly Linear head;
                private readonly Dropout dropout;

                public SequenceModel{{k}}(long inputSize = {{2 + (k % 5)}}, long hiddenSize = {{32 * (1 + (k % 4))}}, long outputSize = {{1 + (k % 3)}})
                    : base(nameof(SequenceModel{{k}}))
                {
                    recurrent = {{create}};
                    head = nn.Linear(hiddenSize, outputSize);
                    dropout = nn.Dropout({{F(0.1 * (k % 4))}});
                    RegisterComponents();{{init}}
                }

                public long OutputSize => head.out_features;

                public override Tensor forward(Tensor input)
                {
                    using var scope = NewDisposeScope();
                    {{call}}
                    var last = output.select(1, -1);
                    return head.call(dropout.call(last)).MoveToOuterDisposeScope();
                }
            }
            """;
    }

    private static string CellModel(string ns, int k, bool clean)
    {
        var lstm = k % 2 == 0;
        var init = clean ? """

                    using (no_grad())
                    {
                        foreach (var (name, parameter) in cell.named_parameters())
                        {
                            if (name.StartsWith("bias", System.StringComparison.Ordinal))
                            {
                                parameter.zero_();
                            }
                            else
                            {
                                nn.init.orthogonal_(parameter);
                            }
                        }
                    }
            """ : string.Empty;
        var cell = lstm ? "LSTMCell" : "GRUCell";
        var declareState = lstm ? "var h = zeros(batch, hiddenSize);\n            var c = zeros(batch, hiddenSize);" : "var h = zeros(batch, hiddenSize);";
        var step = lstm ? "(h, c) = cell.call(input.select(1, t), (h, c));" : "h = cell.call(input.select(1, t), h);";
        return $$"""
            using System.Collections.Generic;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            namespace {{ns}}.Models;

            /// <summary>Hand-unrolled {{cell}} so that per-timestep outputs can be pooled.</summary>
            public sealed class UnrolledCellModel{{k}} : nn.Module<Tensor, Tensor>
            {
                private readonly {{cell}} cell;
                private readonly Linear head;
                private readonly long hiddenSize;

                public UnrolledCellModel{{k}}(long inputSize = {{3 + (k % 4)}}, long hiddenSize = {{16 * (1 + (k % 3))}})
                    : base(nameof(UnrolledCellModel{{k}}))
                {
                    this.hiddenSize = hiddenSize;
                    cell = nn.{{cell}}(inputSize, hiddenSize);
                    head = nn.Linear(hiddenSize, 1);
                    RegisterComponents();{{init}}
                }

                public override Tensor forward(Tensor input)
                {
                    var batch = input.shape[0];
                    var steps = input.shape[1];
                    {{declareState}}
                    var outputs = new List<Tensor>();
                    for (long t = 0; t < steps; t++)
                    {
                        {{step}}
                        outputs.Add(h);
                    }

                    var pooled = stack(outputs, 1).mean([1]);
                    return head.call(pooled);
                }
            }
            """;
    }

    private static string FeedForwardModel(string ns, int k)
    {
        if (k % 2 == 0)
        {
            return $$"""
                using TorchSharp;
                using TorchSharp.Modules;
                using static TorchSharp.torch;

                namespace {{ns}}.Models;

                /// <summary>Multi-layer perceptron classifier.</summary>
                public sealed class FeedForwardModel{{k}} : nn.Module<Tensor, Tensor>
                {
                    private readonly Sequential layers;

                    public FeedForwardModel{{k}}(long features = {{8 + k % 16}}, long classes = {{2 + k % 8}})
                        : base(nameof(FeedForwardModel{{k}}))
                    {
                        layers = nn.Sequential(
                            ("fc1", nn.Linear(features, {{64 + 32 * (k % 3)}})),
                            ("relu1", nn.ReLU()),
                            ("drop", nn.Dropout(0.2)),
                            ("fc2", nn.Linear({{64 + 32 * (k % 3)}}, 64)),
                            ("relu2", nn.ReLU()),
                            ("out", nn.Linear(64, classes)));
                        RegisterComponents();
                    }

                    public override Tensor forward(Tensor input) => layers.call(input);
                }
                """;
        }

        return $$"""
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;

            namespace {{ns}}.Models;

            /// <summary>Small convolutional classifier for {{16 + k % 4 * 8}}x{{16 + k % 4 * 8}} images.</summary>
            public sealed class FeedForwardModel{{k}} : nn.Module<Tensor, Tensor>
            {
                private readonly Conv2d conv1;
                private readonly Conv2d conv2;
                private readonly MaxPool2d pool;
                private readonly Linear classifier;

                public FeedForwardModel{{k}}(long features = 1, long classes = {{2 + k % 8}})
                    : base(nameof(FeedForwardModel{{k}}))
                {
                    conv1 = nn.Conv2d(features, 16, 3, padding: 1);
                    conv2 = nn.Conv2d(16, 32, 3, padding: 1);
                    pool = nn.MaxPool2d(2);
                    classifier = nn.Linear(32 * {{(16 + k % 4 * 8) / 4}} * {{(16 + k % 4 * 8) / 4}}, classes);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor input)
                {
                    var x = pool.call(nn.functional.relu(conv1.call(input)));
                    x = pool.call(nn.functional.relu(conv2.call(x)));
                    return classifier.call(x.flatten(1));
                }
            }
            """;
    }

    private static string SequenceTrainer(string ns, int k, bool clean)
    {
        var clip = (k % 4) switch
        {
            0 => $"nn.utils.clip_grad_norm_(model.parameters(), {F(0.5 + k % 3)});",
            1 => "GradientTools" + k + ".ClipAll(model);",
            2 => clean ? $"var norm = nn.utils.clip_grad_norm_(model.parameters(), {F(0.25 + k % 2)});" : string.Empty,
            _ => $"nn.utils.clip_grad_value_(model.parameters(), {F(1 + k % 5)});",
        };
        var optimizer = (k % 3) switch
        {
            0 => "optim.Adam(model.parameters(), learningRate)",
            1 => "optim.SGD(model.parameters(), learningRate, momentum: 0.9)",
            _ => "optim.AdamW(model.parameters(), learningRate, weight_decay: 0.01)",
        };
        return $$"""
            using System;
            using TorchSharp;
            using static TorchSharp.torch;
            using {{ns}}.Data;
            using {{ns}}.Models;
            using {{ns}}.Utilities;

            namespace {{ns}}.Training;

            public static class SequenceTrainer{{k}}
            {
                public static double Train(int epochs, int batchesPerEpoch, double learningRate = 1e-3)
                {
                    var model = new SequenceModel{{k}}();
                    var optimizer = {{optimizer}};
                    var lossFunction = nn.MSELoss();
                    var data = new SyntheticSequences{{k}}(seed: {{k}});
                    var history = new RunningMean{{k}}(window: 20);
                    model.train();
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        for (var batch = 0; batch < batchesPerEpoch; batch++)
                        {
                            using var scope = NewDisposeScope();
                            var (inputs, targets) = data.NextBatch(32, sequenceLength: {{20 + 10 * (k % 5)}}, targetSize: model.OutputSize);
                            optimizer.zero_grad();
                            var loss = lossFunction.call(model.call(inputs), targets);
                            loss.backward();
                            {{clip}}
                            optimizer.step();
                            history.Add(loss.item<float>());
                        }

                        TrainingLog{{k}}.Epoch(nameof(SequenceTrainer{{k}}), epoch, history.Value);
                    }

                    return Evaluate(model, data);
                }

                public static double Evaluate(SequenceModel{{k}} model, SyntheticSequences{{k}} data)
                {
                    model.eval();
                    using var noGrad = no_grad();
                    using var scope = NewDisposeScope();
                    var (inputs, targets) = data.NextBatch(128, sequenceLength: 50, targetSize: model.OutputSize);
                    return nn.functional.mse_loss(model.call(inputs), targets).item<float>();
                }
            }
            """;
    }

    private static string StatefulTrainer(string ns, int k)
    {
        var carry = k % 4 == 0 ? "state = (h.detach(), c.detach());" : "state = StateTools" + k + ".Detach(h, c);";
        return $$"""
            using System;
            using System.Linq;
            using TorchSharp;
            using static TorchSharp.torch;
            using {{ns}}.Data;
            using {{ns}}.Utilities;

            namespace {{ns}}.Training;

            /// <summary>Truncated BPTT over one long stream: the LSTM state is carried from chunk to chunk.</summary>
            public sealed class StatefulTrainer{{k}}
            {
                private readonly TorchSharp.Modules.LSTM lstm = nn.LSTM({{4 + k % 3}}, {{64 + k % 64}}, batchFirst: true);
                private readonly TorchSharp.Modules.Linear head = nn.Linear({{64 + k % 64}}, 1);

                public StatefulTrainer{{k}}()
                {
                    using (no_grad())
                    {
                        foreach (var (name, parameter) in lstm.named_parameters())
                        {
                            if (name.StartsWith("bias", StringComparison.Ordinal))
                            {
                                parameter.zero_();
                            }
                            else
                            {
                                nn.init.orthogonal_(parameter);
                            }
                        }
                    }
                }

                public float Train(int chunks, double learningRate = 0.01)
                {
                    var optimizer = optim.SGD(lstm.parameters().Concat(head.parameters()), learningRate);
                    var stream = new SyntheticSequences{{k}}(seed: {{k + 1}});
                    (Tensor, Tensor)? state = null;
                    var lastLoss = float.NaN;
                    for (var chunk = 0; chunk < chunks; chunk++)
                    {
                        optimizer.zero_grad();
                        var (inputs, targets) = stream.NextBatch(16, sequenceLength: {{25 + k % 25}}, targetSize: 1, features: {{4 + k % 3}});
                        var (output, h, c) = lstm.call(inputs, state);
                        {{carry}}
                        var loss = nn.functional.mse_loss(head.call(output.select(1, -1)), targets);
                        loss.backward();
                        nn.utils.clip_grad_norm_(lstm.parameters(), 1.0);
                        optimizer.step();
                        lastLoss = loss.item<float>();
                        if (chunk % 10 == 0)
                        {
                            TrainingLog{{k}}.Step(chunk, lastLoss);
                        }
                    }

                    return lastLoss;
                }
            }
            """;
    }

    private static string ClassifierTrainer(string ns, int k) => $$"""
        using System;
        using System.Collections.Generic;
        using TorchSharp;
        using static TorchSharp.torch;
        using {{ns}}.Models;
        using {{ns}}.Utilities;

        namespace {{ns}}.Training;

        public static class ClassifierTrainer{{k}}
        {
            public static IReadOnlyList<double> Train(int epochs, int features = {{8 + k % 16}}, int classes = {{2 + k % 8}})
            {
                var model = new Contoso.Training.Area{{(k - 1) % 12}}.Models.FeedForwardModel{{k - 1}}(features, classes);
                var optimizer = optim.Adam(model.parameters(), 3e-4);
                var scheduler = optim.lr_scheduler.StepLR(optimizer, {{5 + k % 10}}, 0.5);
                var accuracies = new List<double>();
                var generator = new Random({{k}});
                for (var epoch = 0; epoch < epochs; epoch++)
                {
                    using var scope = NewDisposeScope();
                    var inputs = randn(64, features);
                    var labels = randint(0, classes, [64]);
                    optimizer.zero_grad();
                    var logits = model.call(inputs);
                    var loss = nn.functional.cross_entropy(logits, labels);
                    loss.backward();
                    optimizer.step();
                    scheduler.step();
                    var predicted = logits.argmax(1);
                    accuracies.Add(Metrics{{k}}.Accuracy(predicted.data<long>().ToArray(), labels.data<long>().ToArray()));
                    if (generator.NextDouble() < 0.1)
                    {
                        TrainingLog{{k}}.Epoch(nameof(ClassifierTrainer{{k}}), epoch, accuracies[^1]);
                    }
                }

                return accuracies;
            }
        }
        """;

    private static string Data(string ns, int k) => $$"""
        using System;
        using TorchSharp;
        using static TorchSharp.torch;

        namespace {{ns}}.Data;

        /// <summary>Noisy sine waves with a target that depends on the first and last steps (a long-range dependency).</summary>
        public sealed class SyntheticSequences{{k}}
        {
            private readonly Generator generator;
            private readonly long defaultFeatures;

            public SyntheticSequences{{k}}(int seed, long defaultFeatures = {{2 + (k % 5)}})
            {
                generator = new Generator((ulong)seed);
                this.defaultFeatures = defaultFeatures;
            }

            public (Tensor Inputs, Tensor Targets) NextBatch(int batchSize, long sequenceLength, long targetSize, long features = 0)
            {
                if (batchSize <= 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be positive.");
                }

                var width = features > 0 ? features : defaultFeatures;
                var time = linspace(0, 2 * Math.PI, sequenceLength).reshape(1, sequenceLength, 1);
                var phase = rand(batchSize, 1, 1, generator: generator) * {{F(1 + k % 3)}};
                var inputs = sin(time + phase).expand(batchSize, sequenceLength, width) + 0.1 * randn(batchSize, sequenceLength, width, generator: generator);
                var first = inputs.select(1, 0).mean([1], keepdim: true);
                var last = inputs.select(1, -1).mean([1], keepdim: true);
                var targets = (first * last).expand(batchSize, targetSize);
                return (inputs, targets);
            }
        }
        """;

    private static string Utilities(string ns, int k) => $$"""
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using TorchSharp;
        using static TorchSharp.torch;

        namespace {{ns}}.Utilities;

        public sealed class RunningMean{{k}}
        {
            private readonly Queue<double> values = new();
            private readonly int window;

            public RunningMean{{k}}(int window)
            {
                this.window = window > 0 ? window : throw new ArgumentOutOfRangeException(nameof(window));
            }

            public double Value => values.Count == 0 ? double.NaN : values.Average();

            public void Add(double value)
            {
                values.Enqueue(value);
                while (values.Count > window)
                {
                    values.Dequeue();
                }
            }
        }

        public static class Metrics{{k}}
        {
            public static double Accuracy(IReadOnlyList<long> predicted, IReadOnlyList<long> expected)
            {
                if (predicted.Count != expected.Count)
                {
                    throw new ArgumentException($"Expected {expected.Count} predictions but got {predicted.Count}.", nameof(predicted));
                }

                return predicted.Count == 0 ? 0 : predicted.Zip(expected, (p, e) => p == e ? 1.0 : 0.0).Average();
            }

            public static double Percentile(IEnumerable<double> values, double fraction)
            {
                var sorted = values.OrderBy(v => v).ToArray();
                if (sorted.Length == 0)
                {
                    return double.NaN;
                }

                var index = (int)Math.Clamp(Math.Round(fraction * (sorted.Length - 1)), 0, sorted.Length - 1);
                return sorted[index];
            }
        }

        public static class GradientTools{{k}}
        {
            /// <summary>The team's standard clipping: global L2 norm at {{F(1 + k % 2)}}.</summary>
            public static double ClipAll(nn.Module model) => nn.utils.clip_grad_norm_(model.parameters(), {{F(1 + k % 2)}});
        }

        public static class StateTools{{k}}
        {
            public static (Tensor, Tensor) Detach(Tensor h, Tensor c) => (h.detach(), c.detach());
        }

        public static class TrainingLog{{k}}
        {
            public static void Epoch(string trainer, int epoch, double value) =>
                Console.WriteLine($"[{trainer}] epoch {epoch,4}: {value:F5}");

            public static void Step(int step, double loss) =>
                Console.WriteLine($"step {step,6} loss {loss:F5}");
        }
        """;
}
