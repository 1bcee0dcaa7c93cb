using System.Globalization;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace GradientDiagnostics.Benchmarks;

/// <summary>
/// The runs behind the calibration file's <c>recommendedClipNorm</c> and the adaptive clipper's defaults
/// (docs/runtime.md, "Calibration" and "Adaptive clipping"): each scenario is trained once as its code is written, with a
/// watch that writes the calibration file, then retrained on other seeds under every clipping policy.
/// </summary>
internal static class ClipCalibration
{
    private const int LossWindow = 50;

    public static int Run(int seeds, string? only, bool candidateQuantiles)
    {
        set_num_threads(1);
        var folder = Directory.CreateTempSubdirectory("gd-clip-calibration-").FullName;
        var file = Path.Combine(folder, "gradient-calibration.json");
        Console.WriteLine($"calibration file: {file}");
        Console.WriteLine($"final loss = mean of the last {LossWindow} steps (mean predictor 0.167); clipped = share of steps whose gradients were scaled down");
        foreach (var scenario in Scenarios.Where(s => only is null || s.Name == only))
        {
            Console.WriteLine($"\n{scenario.Name}: {scenario.Description}");
            var candidates = new List<(string Name, double Threshold)>();
            foreach (var codeClip in scenario.CodeClip is null ? new double?[] { null, 1.0 } : new double?[] { scenario.CodeClip })
            {
                var (entry, norms) = Calibrate(scenario, codeClip, file);
                var label = codeClip is null ? "unclipped" : $"clip {codeClip}";
                var finite = norms.Where(double.IsFinite).ToArray();
                if (entry is null)
                {
                    Console.WriteLine($"  calibration run, {label}: {finite.Length} finite of {norms.Count} steps; diverged, no entry written (no recommendation)");
                    continue;
                }

                var quantiles = entry["globalNorm"]!;
                var recommended = (double)entry["recommendedClipNorm"]!;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  calibration run, {label}: {entry["steps"]} finite of {norms.Count} steps; file p10 {(double)quantiles["p10"]!:G3} p50 {(double)quantiles["p50"]!:G3} p90 {(double)quantiles["p90"]!:G3} p99 {(double)quantiles["p99"]!:G3} max {(double)quantiles["max"]!:G3}; recommendedClipNorm {recommended:G3}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"    exact: p10 {Exact(finite, 0.1):G3} p50 {Exact(finite, 0.5):G3} p90 {Exact(finite, 0.9):G3} p99 {Exact(finite, 0.99):G3} max {finite.Max():G3}; mean {finite.Average():G3}; p90 after 25 warm-up steps {Exact(finite.Skip(25).ToArray(), 0.9):G3}"));
                candidates.Add(($"recommended ({label}) {recommended:G3}", recommended));
                if (candidateQuantiles)
                {
                    candidates.Add(($"p50 ({label}) {Exact(finite, 0.5):G3}", Exact(finite, 0.5)));
                    candidates.Add(($"mean ({label}) {finite.Average():G3}", finite.Average()));
                    candidates.Add(($"p99 ({label}) {Exact(finite, 0.99):G3}", Exact(finite, 0.99)));
                }
            }

            var policies = new List<(string Name, Func<TrainingLoop, Policy> Apply)>
            {
                ("unclipped", _ => new Policy(null, null)),
                ("fixed 1.0", _ => new Policy(1.0, null)),
            };
            policies.AddRange(candidates.Select(c => (c.Name, (Func<TrainingLoop, Policy>)(_ => new Policy(c.Threshold, null)))));
            policies.Add(("adaptive z-score (default)", loop => new Policy(null, new AdaptiveGradientClipper(loop.Model.parameters()))));
            policies.Add(("adaptive z-score, no warm-up clip", loop => new Policy(null, new AdaptiveGradientClipper(loop.Model.parameters(), new AdaptiveClippingOptions { WarmupMaxNorm = null }))));
            policies.Add(("adaptive quantile 0.9", loop => new Policy(null, new AdaptiveGradientClipper(loop.Model.parameters(), new AdaptiveClippingOptions { Method = AdaptiveClippingMethod.Quantile }))));
            Console.WriteLine($"  {"policy",-40} " + string.Join(" ", Enumerable.Range(1, seeds).Select(s => $"{"seed " + s + " loss",13} clip")) + "   mean loss");
            foreach (var (name, apply) in policies)
            {
                var results = Enumerable.Range(1, seeds).Select(seed => Train(scenario, seed, apply)).ToArray();
                var cells = results.Select(r => string.Create(CultureInfo.InvariantCulture, $"{Loss(r.Loss),13} {r.ClippedShare,4:P0}"));
                var mean = results.All(r => double.IsFinite(r.Loss)) ? Loss(results.Average(r => r.Loss)) : $"{results.Count(r => !double.IsFinite(r.Loss))}/{results.Length} diverged";
                Console.WriteLine($"  {name,-40} {string.Join(" ", cells)}   {mean}");
            }
        }

        return 0;
    }

    private static readonly Scenario[] Scenarios =
    {
        new("healthy-lstm", "samples/AddingProblem's recommended LSTM (chrono init), Adam 1e-2, T=50, batch 128, hidden 32, 600 steps; code clips at 1.0",
            "lstm", Init.Chrono, SeqLen: 50, Batch: 128, Steps: 600, LearningRate: 1e-2, Sgd: false, CodeClip: 1.0),
        new("vanilla-rnn", "samples/AddingProblem's risky tanh RNN (default init), Adam 1e-2, T=50, batch 128, hidden 32, 600 steps; code does not clip",
            "tanh", Init.Default, SeqLen: 50, Batch: 128, Steps: 600, LearningRate: 1e-2, Sgd: false, CodeClip: null),
        new("diverging-rnn", "tanh RNN, recurrent weights 2x orthogonal, SGD 0.2, T=30, batch 32, hidden 32, 300 steps; code does not clip",
            "tanh", Init.ScaledOrthogonal, SeqLen: 30, Batch: 32, Steps: 300, LearningRate: 0.2, Sgd: true, CodeClip: null),
    };

    /// <summary>
    /// Trains the scenario watched (seed 1000, apart from the evaluation seeds); returns its file entry (null when the
    /// run diverged and the watch wrote none) and every step's global norm.
    /// </summary>
    private static (JsonNode? Entry, List<double> Norms) Calibrate(Scenario scenario, double? codeClip, string file)
    {
        manual_seed(1000);
        using var loop = new TrainingLoop(new SequenceModel(scenario.Cell, 2, 32, scenario.Init, scenario.SeqLen), scenario.Batch, scenario.SeqLen, scenario.LearningRate, codeClip, seed: 1000, scenario.Sgd);
        var model = $"{scenario.Name}-{codeClip?.ToString(CultureInfo.InvariantCulture) ?? "unclipped"}";
        var norms = new List<double>();
        using (var watch = GradientWatch.Attach(loop.Model, new GradientWatchOptions { ModelName = model, CalibrationPath = file }))
        {
            for (var step = 1; step <= scenario.Steps; step++)
            {
                norms.Add(loop.Step(watch, step).Report!.GlobalNorm);
            }
        }

        var entry = File.Exists(file) ? JsonNode.Parse(File.ReadAllText(file))!["models"]!.AsArray().SingleOrDefault(m => (string?)m!["model"] == model) : null;
        return (entry, norms);
    }

    /// <summary>The order statistic of rank ⌊q (n − 1)⌋, the definition the sketch's error bound refers to.</summary>
    private static double Exact(double[] values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[(int)Math.Floor(q * (sorted.Length - 1))];
    }

    private static string Loss(double loss) =>
        !double.IsFinite(loss) ? "diverged" : loss < 10 ? loss.ToString("F4", CultureInfo.InvariantCulture) : loss.ToString("G3", CultureInfo.InvariantCulture);

    private static (double Loss, double ClippedShare) Train(Scenario scenario, int seed, Func<TrainingLoop, Policy> apply)
    {
        manual_seed(seed);
        using var loop = new TrainingLoop(new SequenceModel(scenario.Cell, 2, 32, scenario.Init, scenario.SeqLen), scenario.Batch, scenario.SeqLen, scenario.LearningRate, clip: null, seed, scenario.Sgd);
        var policy = apply(loop);
        loop.FixedClip = policy.FixedClip;
        loop.Clipper = policy.Clipper;
        var losses = new Queue<double>();
        var clipped = 0;
        for (var step = 1; step <= scenario.Steps; step++)
        {
            var (loss, _, wasClipped) = loop.StepMeasured(step);
            clipped += wasClipped ? 1 : 0;
            losses.Enqueue(loss);
            if (losses.Count > LossWindow)
            {
                losses.Dequeue();
            }
        }

        return (losses.Average(), clipped / (double)scenario.Steps);
    }

    private sealed record Policy(double? FixedClip, AdaptiveGradientClipper? Clipper);

    private sealed record Scenario(string Name, string Description, string Cell, Init Init, int SeqLen, int Batch, int Steps, double LearningRate, bool Sgd, double? CodeClip);
}
