namespace GradientDiagnostics.Testing;

/// <summary>
/// Sequence-to-sequence and variable-length sequences: a GRU encoder-decoder with teacher forcing, an attention translator
/// over a packed LSTM encoder, a packed bidirectional GRU classifier.
/// </summary>
public static partial class DenseTrainingCodebase
{
    private static string Seq2SeqTrainer(string ns, int k) => $$"""
        using System;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using {{ns}}.Utilities;

        namespace {{ns}}.Training;

        /// <summary>GRU encoder, GRUCell decoder with teacher forcing; each batch starts from the encoder's final state.</summary>
        public sealed class Seq2SeqTrainer{{k}}
        {
            private readonly GRU encoder;
            private readonly GRUCell decoder;
            private readonly Linear project;
            private readonly optim.Optimizer optimizer;

            public Seq2SeqTrainer{{k}}(long features = {{4 + k % 3}}, long hiddenSize = {{64 + 32 * (k % 2)}})
            {
                encoder = nn.GRU(features, hiddenSize, batchFirst: true);
                decoder = nn.GRUCell(features, hiddenSize);
                project = nn.Linear(hiddenSize, features);
                RecurrentInit{{k}}.Apply(encoder, forgetBias: false);
                RecurrentInit{{k}}.Apply(decoder, forgetBias: false);
                var parameters = new System.Collections.Generic.List<Parameter>();
                parameters.AddRange(encoder.parameters());
                parameters.AddRange(decoder.parameters());
                parameters.AddRange(project.parameters());
                optimizer = optim.Adam(parameters, 1e-3);
            }

            public double TrainBatch(Tensor source, Tensor target, double teacherForcing = 0.5)
            {
                optimizer.zero_grad();
                var (_, encoded) = encoder.call(source);
                var h = encoded.select(0, -1);
                var input = source.select(1, -1);
                var loss = zeros(1);
                for (long t = 0; t < target.shape[1]; t++)
                {
                    h = decoder.call(input, h);
                    var prediction = project.call(h);
                    loss = loss + nn.functional.mse_loss(prediction, target.select(1, t));
                    input = Random.Shared.NextDouble() < teacherForcing ? target.select(1, t) : prediction;
                }

                loss.backward();
                nn.utils.clip_grad_norm_(encoder.parameters(), {{F(1 + k % 3)}});
                nn.utils.clip_grad_norm_(decoder.parameters(), {{F(1 + k % 3)}});
                optimizer.step();
                return loss.item<float>();
            }

            public double Fit(Func<int, (Tensor Source, Tensor Target)> batches, int count, int epochs)
            {
                var last = double.NaN;
                for (var epoch = 0; epoch < epochs; epoch++)
                {
                    for (var i = 0; i < count; i++)
                    {
                        using var scope = NewDisposeScope();
                        var (source, target) = batches(i);
                        last = TrainBatch(source, target, teacherForcing: Math.Max(0, 0.5 - 0.05 * epoch));
                    }

                    TrainingLog{{k}}.Epoch(nameof(Seq2SeqTrainer{{k}}), epoch, last, double.NaN);
                }

                return last;
            }
        }
        """;

    private static string Translator(string ns, int k) => $$"""
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using {{ns}}.Utilities;

        namespace {{ns}}.Translation;

        /// <summary>Additive (Bahdanau) attention of a decoder state over the encoder's outputs.</summary>
        public sealed class AdditiveAttention{{k}} : nn.Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear query;
            private readonly Linear key;
            private readonly Linear score;

            public AdditiveAttention{{k}}(long hiddenSize) : base(nameof(AdditiveAttention{{k}}))
            {
                query = nn.Linear(hiddenSize, hiddenSize, hasBias: false);
                key = nn.Linear(hiddenSize, hiddenSize);
                score = nn.Linear(hiddenSize, 1, hasBias: false);
                RegisterComponents();
            }

            /// <summary><paramref name="state"/> [batch, hidden], <paramref name="encoded"/> [batch, time, hidden]: the context [batch, hidden].</summary>
            public override Tensor forward(Tensor state, Tensor encoded)
            {
                var energy = (query.call(state).unsqueeze(1) + key.call(encoded)).tanh();
                var weights = score.call(energy).squeeze(-1).softmax(1);
                return bmm(weights.unsqueeze(1), encoded).squeeze(1);
            }
        }

        /// <summary>LSTM encoder over packed, padded source sentences; LSTMCell decoder with attention and teacher forcing.</summary>
        public sealed class Translator{{k}} : nn.Module<Tensor, Tensor, Tensor, Tensor>
        {
            private readonly Embedding sourceEmbedding;
            private readonly Embedding targetEmbedding;
            private readonly LSTM encoder;
            private readonly LSTMCell decoder;
            private readonly AdditiveAttention{{k}} attention;
            private readonly Linear output;

            public Translator{{k}}(long sourceVocabulary = {{800 + k}}, long targetVocabulary = {{900 + k}}, long hiddenSize = {{64 + 32 * (k % 3)}})
                : base(nameof(Translator{{k}}))
            {
                sourceEmbedding = nn.Embedding(sourceVocabulary, hiddenSize, padding_idx: 0);
                targetEmbedding = nn.Embedding(targetVocabulary, hiddenSize, padding_idx: 0);
                encoder = nn.LSTM(hiddenSize, hiddenSize, batchFirst: true);
                decoder = nn.LSTMCell(hiddenSize, hiddenSize);
                attention = new AdditiveAttention{{k}}(hiddenSize);
                output = nn.Linear(hiddenSize, targetVocabulary);
                RegisterComponents();
                RecurrentInit{{k}}.Apply(encoder, forgetBias: true);
                RecurrentInit{{k}}.Apply(decoder, forgetBias: true);
            }

            /// <summary>Logits [batch, target time, vocabulary] for padded sources of the given lengths.</summary>
            public override Tensor forward(Tensor source, Tensor lengths, Tensor targetInputs)
            {
                var packed = nn.utils.rnn.pack_padded_sequence(sourceEmbedding.call(source), lengths, batch_first: true, enforce_sorted: false);
                var (outputs, hn, cn) = encoder.call(packed);
                var (encoded, _) = nn.utils.rnn.pad_packed_sequence(outputs, batch_first: true);
                var (h, c) = (hn[-1], cn[-1]);
                var steps = new List<Tensor>();
                for (long t = 0; t < targetInputs.shape[1]; t++)
                {
                    var embedded = targetEmbedding.call(targetInputs.select(1, t));
                    (h, c) = decoder.call(embedded + attention.call(h, encoded), (h, c));
                    steps.Add(output.call(h));
                }

                return stack(steps, 1);
            }
        }

        public sealed record TranslationBatch{{k}}(Tensor Source, Tensor SourceLengths, Tensor TargetInputs, Tensor TargetOutputs)
        {
            public long Size => Source.shape[0];
        }

        public sealed class TranslationTrainer{{k}}
        {
            private readonly Translator{{k}} model;
            private readonly optim.Optimizer optimizer;
            private readonly optim.lr_scheduler.LRScheduler scheduler;

            public TranslationTrainer{{k}}(Translator{{k}} model, double learningRate = 1e-3)
            {
                this.model = model;
                optimizer = optim.Adam(ParameterReport{{k}}.Trainable(model), learningRate);
                scheduler = optim.lr_scheduler.StepLR(optimizer, {{5 + k % 5}}, 0.5);
            }

            public double Epoch(IEnumerable<TranslationBatch{{k}}> batches)
            {
                model.train();
                var losses = new List<double>();
                foreach (var batch in batches.Where(b => b.Size > 0).OrderByDescending(b => b.Size))
                {
                    using var scope = NewDisposeScope();
                    optimizer.zero_grad();
                    var logits = model.call(batch.Source, batch.SourceLengths, batch.TargetInputs);
                    var loss = nn.functional.cross_entropy(logits.flatten(0, 1), batch.TargetOutputs.flatten(), ignore_index: 0);
                    loss.backward();
                    nn.utils.clip_grad_norm_(model.parameters(), {{F(0.5 + 0.25 * (k % 4))}});
                    optimizer.step();
                    losses.Add(loss.item<float>());
                }

                scheduler.step();
                return losses.DefaultIfEmpty(double.NaN).Average();
            }

            /// <summary>Greedy decoding of one batch, for the validation BLEU: no graph, no step.</summary>
            public long[][] Translate(TranslationBatch{{k}} batch)
            {
                model.eval();
                using var noGrad = no_grad();
                var predicted = model.call(batch.Source, batch.SourceLengths, batch.TargetInputs).argmax(-1);
                return Enumerable.Range(0, (int)batch.Size)
                    .Select(i => predicted[i].data<long>().TakeWhile(token => token != 0).ToArray())
                    .ToArray();
            }
        }
        """;

    private static string PackedClassifier(string ns, int k) => $$"""
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using {{ns}}.Utilities;

        namespace {{ns}}.Classification;

        /// <summary>Bidirectional GRU over packed variable-length sequences; the two final states feed the classifier.</summary>
        public sealed class PackedClassifier{{k}} : nn.Module<Tensor, Tensor, Tensor>
        {
            private readonly GRU recurrent;
            private readonly Linear classifier;

            public PackedClassifier{{k}}(long features = {{6 + k % 5}}, long hiddenSize = {{32 + 32 * (k % 3)}}, long classes = {{3 + k % 4}})
                : base(nameof(PackedClassifier{{k}}))
            {
                recurrent = nn.GRU(features, hiddenSize, numLayers: {{1 + k % 2}}, batchFirst: true, bidirectional: true);
                classifier = nn.Linear(2 * hiddenSize, classes);
                RegisterComponents();
                RecurrentInit{{k}}.Apply(recurrent, forgetBias: false);
            }

            public override Tensor forward(Tensor padded, Tensor lengths)
            {
                var packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first: true, enforce_sorted: false);
                var (_, hn) = recurrent.call(packed);
                return classifier.call(cat([hn[-2], hn[-1]], 1));
            }
        }

        public sealed class PackedClassifierTrainer{{k}}
        {
            private readonly PackedClassifier{{k}} model = new();

            /// <summary>Class-weighted cross entropy, classes counted over the whole training set.</summary>
            public IReadOnlyList<double> Fit(IReadOnlyList<(Tensor Padded, Tensor Lengths, Tensor Labels)> batches, int epochs)
            {
                var counts = batches.SelectMany(b => b.Labels.data<long>().ToArray())
                    .GroupBy(label => label)
                    .OrderBy(g => g.Key)
                    .Select(g => (double)g.Count())
                    .ToArray();
                var weights = tensor(counts.Select(count => counts.Sum() / (counts.Length * count)).ToArray()).to_type(ScalarType.Float32);
                var optimizer = optim.AdamW(model.parameters(), 2e-3);
                var history = new List<double>();
                foreach (var epoch in Enumerable.Range(0, epochs))
                {
                    model.train();
                    var total = 0.0;
                    foreach (var (padded, lengths, labels) in batches.OrderBy(_ => Random.Shared.Next()))
                    {
                        using var scope = NewDisposeScope();
                        optimizer.zero_grad();
                        var loss = nn.functional.cross_entropy(model.call(padded, lengths), labels, weight: weights);
                        loss.backward();
                        GradientUtilities{{k}}.Clip(model, {{F(1 + k % 4)}});
                        optimizer.step();
                        total += loss.item<float>();
                    }

                    history.Add(total / Math.Max(1, batches.Count));
                    TrainingLog{{k}}.Epoch(nameof(PackedClassifierTrainer{{k}}), epoch, history[^1], double.NaN);
                }

                return history;
            }
        }
        """;
}
