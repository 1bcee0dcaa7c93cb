namespace GradientDiagnostics.Testing;

/// <summary>Async data loading into a generic trainer, and the LINQ-heavy and generic utilities training code leans on.</summary>
public static partial class DenseTrainingCodebase
{
    private static string AsyncForecastTrainer(string ns, int k)
    {
        var lstm = k % 3 == 0;
        var kind = lstm ? "LSTM" : "GRU";
        var last = lstm ? "var (output, _, _) = recurrent.call(input);" : "var (output, _) = recurrent.call(input);";
        return $$"""
            using System;
            using System.Collections.Generic;
            using System.Linq;
            using System.Runtime.CompilerServices;
            using System.Threading;
            using System.Threading.Channels;
            using System.Threading.Tasks;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using {{ns}}.Utilities;

            namespace {{ns}}.Forecasting;

            /// <summary>Sliding windows over many series, batched on a background task while the model trains.</summary>
            public static class WindowLoader{{k}}
            {
                public static async IAsyncEnumerable<(Tensor Inputs, Tensor Targets)> ReadAsync(
                    IReadOnlyList<float[]> series, int window, int batchSize, [EnumeratorCancellation] CancellationToken cancellationToken = default)
                {
                    var channel = Channel.CreateBounded<(Tensor, Tensor)>({{2 + k % 4}});
                    var producer = Task.Run(async () =>
                    {
                        try
                        {
                            foreach (var chunk in Windows(series, window).Chunk(batchSize))
                            {
                                var inputs = stack(chunk.Select(w => tensor(w.Inputs).reshape(window, 1)).ToArray());
                                var targets = tensor(chunk.Select(w => w.Target).ToArray()).unsqueeze(1);
                                await channel.Writer.WriteAsync((inputs, targets), cancellationToken);
                            }
                        }
                        finally
                        {
                            channel.Writer.Complete();
                        }
                    }, cancellationToken);

                    await foreach (var batch in channel.Reader.ReadAllAsync(cancellationToken))
                    {
                        yield return batch;
                    }

                    await producer;
                }

                private static IEnumerable<(float[] Inputs, float Target)> Windows(IReadOnlyList<float[]> series, int window) =>
                    from values in series
                    where values.Length > window
                    from start in Enumerable.Range(0, values.Length - window)
                    select (values[start..(start + window)], values[start + window]);
            }

            public sealed class Forecaster{{k}} : nn.Module<Tensor, Tensor>
            {
                private readonly {{kind}} recurrent;
                private readonly Linear head;

                public Forecaster{{k}}(long hiddenSize = {{32 + 16 * (k % 4)}}) : base(nameof(Forecaster{{k}}))
                {
                    recurrent = nn.{{kind}}(1, hiddenSize, numLayers: 2, batchFirst: true);
                    head = nn.Linear(hiddenSize, 1);
                    RegisterComponents();
                    RecurrentInit{{k}}.Apply(recurrent, forgetBias: {{(lstm ? "true" : "false")}});
                }

                public override Tensor forward(Tensor input)
                {
                    {{last}}
                    return head.call(output.select(1, -1));
                }
            }

            /// <summary>Any single-input model, any loss; clips the global norm of every step.</summary>
            public sealed class SupervisedTrainer{{k}}<TModel> where TModel : nn.Module<Tensor, Tensor>
            {
                private readonly TModel model;
                private readonly Func<Tensor, Tensor, Tensor> lossFunction;
                private readonly optim.Optimizer optimizer;
                private readonly double maxNorm;

                public SupervisedTrainer{{k}}(TModel model, Func<Tensor, Tensor, Tensor> lossFunction, double learningRate, double maxNorm)
                {
                    this.model = model;
                    this.lossFunction = lossFunction;
                    this.maxNorm = maxNorm;
                    optimizer = optim.Adam(model.parameters(), learningRate);
                }

                public async Task<IReadOnlyList<double>> FitAsync(
                    Func<IAsyncEnumerable<(Tensor Inputs, Tensor Targets)>> data, int epochs, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
                {
                    var history = new List<double>();
                    var stopping = new EarlyStopping{{k}}<double>(patience: {{3 + k % 3}});
                    for (var epoch = 0; epoch < epochs && !stopping.ShouldStop; epoch++)
                    {
                        model.train();
                        var losses = new List<double>();
                        await foreach (var (inputs, targets) in data().WithCancellation(cancellationToken))
                        {
                            using var scope = NewDisposeScope();
                            optimizer.zero_grad();
                            var loss = lossFunction(model.call(inputs), targets);
                            loss.backward();
                            nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
                            optimizer.step();
                            losses.Add(loss.item<float>());
                        }

                        history.Add(losses.DefaultIfEmpty(double.NaN).Average());
                        stopping.Observe(-history[^1]);
                        progress?.Report(history[^1]);
                    }

                    return history;
                }
            }

            public static class ForecastJob{{k}}
            {
                public static Task<IReadOnlyList<double>> RunAsync(IReadOnlyList<float[]> series, CancellationToken cancellationToken)
                {
                    var trainer = new SupervisedTrainer{{k}}<Forecaster{{k}}>(new Forecaster{{k}}(), (prediction, target) => nn.functional.mse_loss(prediction, target), 1e-3, {{F(0.5 + k % 3)}});
                    return trainer.FitAsync(() => WindowLoader{{k}}.ReadAsync(series, {{16 + k % 16}}, 32, cancellationToken), epochs: 20, cancellationToken: cancellationToken);
                }
            }
            """;
    }

    private static string LinqUtilities(int k) => $$"""

        public static class ParameterReport{{k}}
        {
            /// <summary>Parameter counts per top-level submodule, largest first: what the run log prints.</summary>
            public static IReadOnlyDictionary<string, long> CountsByModule(nn.Module model) =>
                model.named_parameters()
                    .GroupBy(p => p.name.Split('.')[0])
                    .OrderByDescending(g => g.Sum(p => p.parameter.numel()))
                    .ToDictionary(g => g.Key, g => g.Sum(p => p.parameter.numel()));

            public static IEnumerable<Parameter> Trainable(nn.Module model) => model.parameters().Where(p => p.requires_grad);

            public static string Describe(nn.Module model) =>
                string.Join(", ", CountsByModule(model).Select(pair => $"{pair.Key}: {pair.Value:N0}"));
        }

        /// <summary>Stops when the metric (higher is better) has not improved for <c>patience</c> observations.</summary>
        public sealed class EarlyStopping{{k}}<TMetric>(int patience) where TMetric : IComparable<TMetric>
        {
            private TMetric? best;
            private int stale;
            private bool any;

            public bool ShouldStop => stale >= patience;

            public void Observe(TMetric metric)
            {
                if (!any || metric.CompareTo(best!) > 0)
                {
                    (best, stale, any) = (metric, 0, true);
                }
                else
                {
                    stale++;
                }
            }
        }

        public static class Batching{{k}}
        {
            public static IEnumerable<IReadOnlyList<T>> Shuffled<T>(IReadOnlyList<T> items, int batchSize, Random random) =>
                items.OrderBy(_ => random.Next()).Chunk(batchSize).Select(chunk => (IReadOnlyList<T>)chunk);

            public static (IReadOnlyList<T> Train, IReadOnlyList<T> Validation) Split<T>(IReadOnlyList<T> items, double validationShare)
            {
                var validation = (int)Math.Round(items.Count * validationShare);
                return (items.Take(items.Count - validation).ToList(), items.Skip(items.Count - validation).ToList());
            }
        }
        """;
}
