using System.Collections.Immutable;
using System.Globalization;
using Microsoft.CodeAnalysis;

namespace GradientDiagnostics.Testing;

/// <summary>
/// The worst case for the analyzers' text pre-filters: a codebase in which every file is recurrent training code —
/// every type says <c>backward</c>, <c>step</c>, <c>LSTM</c>/<c>GRU</c>, passes a state to a module or calls a helper
/// that does — and all of it is written correctly (gradients cleared, clipped between backward and step, carried states
/// detached, every recurrent module initialised in every constructor, gradient accumulation and LBFGS closures done
/// right). A precise analyzer reports nothing here and has to prove it for every body. Where the generated
/// <see cref="TrainingCodebase"/> is half models, data and utilities, real training projects are mostly this.
/// </summary>
public static partial class DenseTrainingCodebase
{
    public const int FilesPerGroup = 8;

    /// <summary>
    /// The platform and TorchSharp, without GradientDiagnostics.Runtime: this codebase never uses the watch, like most
    /// TorchSharp projects, so GD0010 (which speaks only where the runtime is referenced) registers nothing.
    /// </summary>
    public static ImmutableArray<MetadataReference> References => TrainingCodebase.TorchSharpReferences;

    /// <summary>At least <paramref name="minimumFiles"/> files, rounded up to whole groups.</summary>
    public static ImmutableArray<(string Path, string Text)> Generate(int minimumFiles)
    {
        var files = ImmutableArray.CreateBuilder<(string, string)>();
        for (var group = 0; files.Count < minimumFiles; group++)
        {
            files.AddRange(Group(group));
        }

        return files.ToImmutable();
    }

    public static ImmutableArray<(string Path, string Text)> Group(int k)
    {
        var ns = $"Fabrikam.Sequence.Lab{k % 10}";
        var folder = $"Lab{k % 10}";
        return
        [
            ($"{folder}/Models/LanguageModel{k}.cs", LanguageModel(ns, k)),
            ($"{folder}/Training/TbpttTrainer{k}.cs", TbpttTrainer(ns, k)),
            ($"{folder}/Training/CellTrainer{k}.cs", CellTrainer(ns, k)),
            ($"{folder}/Training/StreamingTrainer{k}.cs", StreamingTrainer(ns, k)),
            k % 2 == 0 ? ($"{folder}/Training/AccumulatingTrainer{k}.cs", AccumulatingTrainer(ns, k)) : ($"{folder}/Training/Seq2SeqTrainer{k}.cs", Seq2SeqTrainer(ns, k)),
            k % 2 == 0 ? ($"{folder}/Translation/Translator{k}.cs", Translator(ns, k)) : ($"{folder}/Classification/PackedClassifier{k}.cs", PackedClassifier(ns, k)),
            ($"{folder}/Forecasting/AsyncForecastTrainer{k}.cs", AsyncForecastTrainer(ns, k)),
            ($"{folder}/Utilities/TrainingUtilities{k}.cs", Utilities(ns, k)),
        ];
    }

    private static string F(double value) => value.ToString("0.0###", CultureInfo.InvariantCulture);

    private static bool IsLstm(int k) => k % 2 == 0;

    private static string LanguageModel(string ns, int k)
    {
        var lstm = IsLstm(k);
        var kind = lstm ? "LSTM" : "GRU";
        var stateType = lstm ? "(Tensor, Tensor)?" : "Tensor?";
        var result = lstm ? "(Tensor Logits, Tensor H, Tensor C)" : "(Tensor Logits, Tensor H)";
        var run = lstm
            ? "var (output, h, c) = encoder.call(embedded, state);\n        return (decoder.call(dropout.call(output)), h, c);"
            : "var (output, h) = encoder.call(embedded, state);\n        return (decoder.call(dropout.call(output)), h);";
        var init = k % 3 == 0
            ? $"RecurrentInit{k}.Apply(encoder, forgetBias: {(lstm ? "true" : "false")});"
            : $$"""
            using (no_grad())
                    {
                        foreach (var (name, parameter) in encoder.named_parameters())
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
                                parameter.zero_();{{(lstm ? "\n                        parameter[TensorIndex.Slice(hiddenSize, 2 * hiddenSize)].fill_(1.0);" : string.Empty)}}
                            }
                        }
                    }
            """;
        return $$"""
            using System;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using {{ns}}.Utilities;

            namespace {{ns}}.Models;

            /// <summary>Word-level language model: embedding, {{kind}} encoder, linear decoder over the vocabulary.</summary>
            public sealed class LanguageModel{{k}} : nn.Module<Tensor, Tensor>
            {
                private readonly Embedding embedding;
                private readonly {{kind}} encoder;
                private readonly Dropout dropout;
                private readonly Linear decoder;

                public LanguageModel{{k}}(long vocabulary = {{1000 + 100 * (k % 7)}}, long embeddingSize = {{64 + 32 * (k % 3)}}, long hiddenSize = {{128 + 64 * (k % 2)}})
                    : base(nameof(LanguageModel{{k}}))
                {
                    Vocabulary = vocabulary;
                    embedding = nn.Embedding(vocabulary, embeddingSize);
                    encoder = nn.{{kind}}(embeddingSize, hiddenSize, numLayers: {{1 + k % 3}}, dropout: {{F(0.1 * (k % 3))}});
                    dropout = nn.Dropout({{F(0.2 + 0.1 * (k % 2))}});
                    decoder = nn.Linear(hiddenSize, vocabulary);
                    RegisterComponents();
                    {{init}}
                }

                public long Vocabulary { get; }

                public override Tensor forward(Tensor tokens) => Run(tokens, null).Logits;

                /// <summary>One chunk of the stream, starting from <paramref name="state"/> (null: zeros).</summary>
                public {{result}} Run(Tensor tokens, {{stateType}} state)
                {
                    var embedded = dropout.call(embedding.call(tokens));
                    {{run}}
                }
            }
            """;
    }

    private static string TbpttTrainer(string ns, int k)
    {
        var lstm = IsLstm(k);
        var stateDeclaration = lstm ? "(Tensor, Tensor)? state = null;" : "Tensor? state = null;";
        var run = lstm ? "var (logits, h, c) = model.Run(inputs, state);" : "var (logits, h) = model.Run(inputs, state);";
        var carry = (k % 3, lstm) switch
        {
            (0, true) => "state = (h.detach().MoveToOuterDisposeScope(), c.detach().MoveToOuterDisposeScope());",
            (0, false) => "state = h.detach().MoveToOuterDisposeScope();",
            (1, true) => "state = StateUtilities" + k + ".Detach(h, c);",
            (1, false) => "state = StateUtilities" + k + ".Detach(h);",
            (_, true) => "state = (h.detach(), c.detach());",
            _ => "state = h.detach();",
        };
        // A state detached in a dispose scope must leave it, or the next chunk reads a disposed tensor.
        var scope = k % 3 == 2 ? string.Empty : "using var scope = NewDisposeScope();\n            ";
        var evaluateRun = lstm ? "var (logits, h, c) = model.Run(inputs, state);\n                state = (h, c);" : "var (logits, h) = model.Run(inputs, state);\n                state = h;";
        var optimizer = (k % 4) switch
        {
            0 => "optim.SGD(model.parameters(), learningRate)",
            1 => "optim.Adam(model.parameters(), learningRate)",
            2 => "optim.AdamW(model.parameters(), learningRate, weight_decay: 0.01)",
            _ => "optim.RMSProp(model.parameters(), learningRate)",
        };
        var clip = k % 2 == 0
            ? $"nn.utils.clip_grad_norm_(model.parameters(), {F(0.25 + 0.25 * (k % 3))});"
            : $"GradientUtilities{k}.Clip(model, {F(0.5 + k % 2)});";
        return $$"""
            using System;
            using System.Collections.Generic;
            using System.Linq;
            using TorchSharp;
            using static TorchSharp.torch;
            using {{ns}}.Models;
            using {{ns}}.Utilities;

            namespace {{ns}}.Training;

            /// <summary>Truncated backpropagation through time over one token stream; backward() every {{20 + k % 30}} tokens.</summary>
            public sealed class TbpttTrainer{{k}}
            {
                private readonly LanguageModel{{k}} model;
                private readonly optim.Optimizer optimizer;
                private readonly int bptt;

                public TbpttTrainer{{k}}(LanguageModel{{k}} model, double learningRate = {{F(0.5 + k % 4)}}, int bptt = {{20 + k % 30}})
                {
                    this.model = model;
                    this.bptt = bptt;
                    optimizer = {{optimizer}};
                }

                public double TrainEpoch(Tensor stream)
                {
                    model.train();
                    {{stateDeclaration}}
                    var total = 0.0;
                    var batches = 0;
                    for (long start = 0; start + bptt + 1 < stream.shape[0]; start += bptt)
                    {
                        {{scope}}var inputs = stream.narrow(0, start, bptt);
                        var targets = stream.narrow(0, start + 1, bptt);
                        optimizer.zero_grad();
                        {{run}}
                        {{carry}}
                        var loss = nn.functional.cross_entropy(logits.reshape(-1, model.Vocabulary), targets.reshape(-1));
                        loss.backward();
                        {{clip}}
                        optimizer.step();
                        total += loss.item<float>();
                        batches++;
                    }

                    return batches == 0 ? double.NaN : total / batches;
                }

                public double Evaluate(Tensor stream)
                {
                    model.eval();
                    using var noGrad = no_grad();
                    {{stateDeclaration}}
                    var losses = new List<double>();
                    for (long start = 0; start + bptt + 1 < stream.shape[0]; start += bptt)
                    {
                        var inputs = stream.narrow(0, start, bptt);
                        var targets = stream.narrow(0, start + 1, bptt);
                        {{evaluateRun}}
                        losses.Add(nn.functional.cross_entropy(logits.reshape(-1, model.Vocabulary), targets.reshape(-1)).item<float>());
                    }

                    return losses.Count == 0 ? double.NaN : Math.Exp(losses.Average());
                }

                public void Fit(Tensor train, Tensor validation, int epochs)
                {
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        var loss = TrainEpoch(train);
                        TrainingLog{{k}}.Epoch(nameof(TbpttTrainer{{k}}), epoch, loss, Evaluate(validation));
                    }
                }
            }
            """;
    }

    private static string CellTrainer(string ns, int k)
    {
        var lstm = k % 3 != 1;
        var cell = lstm ? "LSTMCell" : "GRUCell";
        var declare = lstm ? "var h = zeros(batch, hiddenSize);\n            var c = zeros(batch, hiddenSize);" : "var h = zeros(batch, hiddenSize);";
        var step = lstm ? "(h, c) = cell.call(input.select(1, t), (h, c));" : "h = cell.call(input.select(1, t), h);";
        var clear = k % 2 == 0 ? "optimizer.zero_grad();" : "model.zero_grad();";
        return $$"""
            using System;
            using System.Collections.Generic;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using {{ns}}.Utilities;

            namespace {{ns}}.Training;

            /// <summary>A hand-unrolled {{cell}} regressor: per-timestep outputs are averaged before the head.</summary>
            public sealed class UnrolledRegressor{{k}} : nn.Module<Tensor, Tensor>
            {
                private readonly {{cell}} cell;
                private readonly Linear head;
                private readonly long hiddenSize;

                public UnrolledRegressor{{k}}(long inputSize = {{2 + k % 5}}, long hiddenSize = {{32 + 16 * (k % 4)}})
                    : base(nameof(UnrolledRegressor{{k}}))
                {
                    this.hiddenSize = hiddenSize;
                    cell = nn.{{cell}}(inputSize, hiddenSize);
                    head = nn.Linear(hiddenSize, 1);
                    RegisterComponents();
                    RecurrentInit{{k}}.Apply(cell, forgetBias: {{(lstm ? "true" : "false")}});
                }

                public override Tensor forward(Tensor input)
                {
                    var batch = input.shape[0];
                    {{declare}}
                    var outputs = new List<Tensor>();
                    for (long t = 0; t < input.shape[1]; t++)
                    {
                        {{step}}
                        outputs.Add(h);
                    }

                    return head.call(stack(outputs, 1).mean([1]));
                }
            }

            public sealed class CellTrainer{{k}}
            {
                private readonly UnrolledRegressor{{k}} model = new();
                private readonly optim.Optimizer optimizer;

                public CellTrainer{{k}}(double learningRate = 1e-3)
                {
                    optimizer = optim.Adam(model.parameters(), learningRate);
                }

                /// <summary>One batch: clear, forward, backward, clip, step.</summary>
                public float TrainBatch(Tensor inputs, Tensor targets)
                {
                    using var scope = NewDisposeScope();
                    {{clear}}
                    var loss = nn.functional.mse_loss(model.call(inputs), targets);
                    loss.backward();
                    GradientUtilities{{k}}.Clip(model, {{F(1 + k % 3)}});
                    optimizer.step();
                    return loss.item<float>();
                }

                public IReadOnlyList<float> Fit(IReadOnlyList<(Tensor Inputs, Tensor Targets)> batches, int epochs)
                {
                    var losses = new List<float>();
                    model.train();
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        foreach (var (inputs, targets) in batches)
                        {
                            losses.Add(TrainBatch(inputs, targets));
                        }

                        TrainingLog{{k}}.Epoch(nameof(CellTrainer{{k}}), epoch, losses[^1], double.NaN);
                    }

                    return losses;
                }
            }
            """;
    }

    private static string StreamingTrainer(string ns, int k)
    {
        var lstm = k % 4 < 2;
        var kind = lstm ? "LSTM" : "GRU";
        var field = lstm ? "private (Tensor, Tensor)? hidden;" : "private Tensor? hidden;";
        var run = lstm ? "var (output, h, c) = recurrent.call(chunk, hidden);" : "var (output, h) = recurrent.call(chunk, hidden);";
        var carry = (k % 2, lstm) switch
        {
            (0, true) => "hidden = (h.detach(), c.detach());",
            (0, false) => "hidden = h.detach();",
            (_, true) => "hidden = StateUtilities" + k + ".Detach(h, c);",
            _ => "hidden = StateUtilities" + k + ".Detach(h);",
        };
        return $$"""
            using System;
            using System.Linq;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using {{ns}}.Utilities;

            namespace {{ns}}.Training;

            /// <summary>Online training on a sensor stream: the {{kind}} state is kept between chunks, detached at each chunk.</summary>
            public sealed class StreamingTrainer{{k}}
            {
                private readonly {{kind}} recurrent;
                private readonly Linear head;
                private readonly optim.Optimizer optimizer;
                {{field}}

                public StreamingTrainer{{k}}(long features = {{3 + k % 4}}, long hiddenSize = {{48 + 16 * (k % 3)}}, double learningRate = 0.01)
                {
                    recurrent = nn.{{kind}}(features, hiddenSize, batchFirst: true);
                    head = nn.Linear(hiddenSize, 1);
                    RecurrentInit{{k}}.Apply(recurrent, forgetBias: {{(lstm ? "true" : "false")}});
                    optimizer = optim.SGD(recurrent.parameters().Concat(head.parameters()), learningRate, momentum: 0.9);
                }

                public void Reset() => hidden = null;

                public float TrainChunk(Tensor chunk, Tensor target)
                {
                    optimizer.zero_grad();
                    {{run}}
                    {{carry}}
                    var loss = nn.functional.smooth_l1_loss(head.call(output.select(1, -1)), target);
                    loss.backward();
                    nn.utils.clip_grad_value_(recurrent.parameters(), {{F(0.5 + k % 3)}});
                    optimizer.step();
                    return loss.item<float>();
                }

                public float Run(Func<int, (Tensor Chunk, Tensor Target)> source, int chunks)
                {
                    var last = float.NaN;
                    for (var i = 0; i < chunks; i++)
                    {
                        var (chunk, target) = source(i);
                        last = TrainChunk(chunk, target);
                        if (i % {{50 + k % 50}} == 0)
                        {
                            Reset();
                        }
                    }

                    return last;
                }
            }
            """;
    }

    private static string AccumulatingTrainer(string ns, int k)
    {
        var lbfgs = k % 4 == 0
            ? $$"""

                public double FineTune(Tensor inputs, Tensor targets, int iterations)
                {
                    var optimizer = optim.LBFGS(model.parameters(), lr: 0.5);
                    var last = double.NaN;
                    for (var i = 0; i < iterations; i++)
                    {
                        optimizer.step(() =>
                        {
                            optimizer.zero_grad();
                            var loss = nn.functional.mse_loss(model.call(inputs), targets);
                            loss.backward();
                            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                            last = loss.item<float>();
                            return loss;
                        });
                    }

                    return last;
                }
            """
            : string.Empty;
        return $$"""
            using System;
            using System.Collections.Generic;
            using TorchSharp;
            using static TorchSharp.torch;
            using {{ns}}.Utilities;

            namespace {{ns}}.Training;

            /// <summary>Large effective batches on a small machine: gradients of {{2 + k % 6}} micro-batches are accumulated per step.</summary>
            public sealed class AccumulatingTrainer{{k}}
            {
                private readonly UnrolledRegressor{{k}} model = new();
                private readonly int accumulation = {{2 + k % 6}};

                public double Train(IReadOnlyList<(Tensor Inputs, Tensor Targets)> microBatches, int epochs)
                {
                    var optimizer = optim.AdamW(model.parameters(), 3e-4);
                    var total = 0.0;
                    for (var epoch = 0; epoch < epochs; epoch++)
                    {
                        optimizer.zero_grad();
                        for (var i = 0; i < microBatches.Count; i++)
                        {
                            using var scope = NewDisposeScope();
                            var (inputs, targets) = microBatches[i];
                            var loss = nn.functional.mse_loss(model.call(inputs), targets) / accumulation;
                            loss.backward();
                            total += loss.item<float>();
                            if ((i + 1) % accumulation == 0 || i == microBatches.Count - 1)
                            {
                                nn.utils.clip_grad_norm_(model.parameters(), {{F(1 + k % 2)}});
                                optimizer.step();
                                optimizer.zero_grad();
                            }
                        }

                        TrainingLog{{k}}.Epoch(nameof(AccumulatingTrainer{{k}}), epoch, total, double.NaN);
                    }

                    return total;
                }
            {{lbfgs}}
            }
            """;
    }

    private static string Utilities(string ns, int k) => $$"""
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace {{ns}}.Utilities;

        public static class GradientUtilities{{k}}
        {
            /// <summary>Clips the global gradient norm; call it after backward() and before the optimizer's step().</summary>
            public static double Clip(nn.Module model, double maxNorm) => nn.utils.clip_grad_norm_(model.parameters(), maxNorm);

            /// <summary>The global gradient norm without clipping, for logging.</summary>
            public static double Norm(nn.Module model)
            {
                using var scope = NewDisposeScope();
                var total = 0.0;
                foreach (var parameter in model.parameters())
                {
                    if (parameter.grad is { } grad)
                    {
                        total += grad.pow(2).sum().item<float>();
                    }
                }

                return Math.Sqrt(total);
            }
        }

        public static class StateUtilities{{k}}
        {
            /// <summary>
            /// Cuts the carried state off the previous chunk's graph (truncated BPTT) and keeps it alive past the chunk's
            /// dispose scope.
            /// </summary>
            public static (Tensor, Tensor) Detach(Tensor h, Tensor c) => (Detach(h), Detach(c));

            public static Tensor Detach(Tensor h) => h.detach().MoveToOuterDisposeScope();
        }

        public static class RecurrentInit{{k}}
        {
            /// <summary>Orthogonal recurrent weights, Xavier input weights, zero biases (LSTM: forget-gate bias 1).</summary>
            public static void Apply(nn.Module module, bool forgetBias)
            {
                using var noGrad = no_grad();
                foreach (var (name, parameter) in module.named_parameters())
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
                        if (forgetBias)
                        {
                            var hidden = parameter.shape[0] / 4;
                            parameter[TensorIndex.Slice(hidden, 2 * hidden)].fill_(1.0);
                        }
                    }
                }
            }
        }

        public static class TrainingLog{{k}}
        {
            public static void Epoch(string trainer, int epoch, double loss, double validation) =>
                Console.WriteLine($"[{trainer}] epoch {epoch,3}: loss {loss:F4}, validation {validation:F4} (after backward and step)");
        }
        {{LinqUtilities(k)}}
        """;
}
