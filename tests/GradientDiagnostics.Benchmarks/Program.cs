using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Running;
using GradientDiagnostics;
using GradientDiagnostics.Benchmarks;
using TorchSharp;
using static TorchSharp.torch;

// Modes:
//   (none) or BenchmarkDotNet arguments   the paired BenchmarkDotNet overhead benchmark
//   paired [pairs]                        alternating watched / unwatched steps, median per-pair ratio
//   paired-clip [pairs]                   alternating steps clipped by clip_grad_norm_(1.0) / by AdaptiveGradientClipper
//   soak [steps] [unwatched]              memory soak: RSS, managed heap and live tensors over many watched steps
//   calibrate                             the runs behind the default anomaly thresholds (docs/runtime.md)
//   calibrate-seeds [seeds]               the healthy T=30 run over several seeds: endpoint vs end-window time ratios
//   calibrate-clip [seeds] [scenario|all] [candidates]
//                                         the runs behind recommendedClipNorm and the adaptive clipper (docs/runtime.md)
var mode = args.Length > 0 ? args[0] : "";
return mode switch
{
    "paired" => Paired(args.Length > 1 ? PositiveInt(args[1], "pairs") : 200),
    "paired-clip" => PairedClip(args.Length > 1 ? PositiveInt(args[1], "pairs") : 200),
    "soak" => Soak(args.Length > 1 ? PositiveInt(args[1], "steps") : 10_000, watched: !(args.Length > 2 && args[2] == "unwatched")),
    "calibrate" => Calibrate(),
    "calibrate-clip" => ClipCalibration.Run(args.Length > 1 ? PositiveInt(args[1], "seeds") : 5, args.Length > 2 && args[2] != "all" ? args[2] : null, args.Contains("candidates")),
    "calibrate-seeds" => CalibrateSeeds(args.Length > 1 ? PositiveInt(args[1], "seeds") : 8),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    var summary = BenchmarkSwitcher.FromAssembly(typeof(WatchOverheadBenchmark).Assembly).Run(args.Length == 0 ? new[] { "--filter", "*" } : args);
    return summary.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
}

static int PositiveInt(string text, string name) =>
    int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
        ? value
        : throw new ArgumentOutOfRangeException(name, text, $"{name} must be a positive whole number.");

static int Paired(int pairs)
{
    set_num_threads(1);
    manual_seed(1);
    using var unwatched = new TrainingLoop(new SequenceModel("lstm", 2, 128, Init.Orthogonal), 32, 100, 1e-3, 1.0, seed: 1);
    manual_seed(1);
    using var watched = new TrainingLoop(new SequenceModel("lstm", 2, 128, Init.Orthogonal), 32, 100, 1e-3, 1.0, seed: 1);
    using var watch = GradientWatch.Attach(watched.Model);

    for (var i = 0; i < 10; i++)
    {
        unwatched.Step(null, i);
        watched.Step(watch, i);
    }

    var (median, totals, plainMean, watchedMean) = Alternate(pairs, () => unwatched.Step(null, 0), () => watched.Step(watch, 0));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"paired LSTM step (batch 32, T=100, hidden 128, 1 thread), {pairs} pairs: median ratio {median:F4}, " +
        $"ratio of totals {totals:F4}, mean step {plainMean:F1} ms unwatched / {watchedMean:F1} ms watched"));
    return 0;
}

static int PairedClip(int pairs)
{
    set_num_threads(1);
    manual_seed(1);
    using var fixedClip = new TrainingLoop(new SequenceModel("lstm", 2, 128, Init.Orthogonal), 32, 100, 1e-3, 1.0, seed: 1);
    manual_seed(1);
    using var adaptive = new TrainingLoop(new SequenceModel("lstm", 2, 128, Init.Orthogonal), 32, 100, 1e-3, null, seed: 1);
    adaptive.Clipper = new AdaptiveGradientClipper(adaptive.Model.parameters());
    for (var i = 0; i < 30; i++)
    {
        fixedClip.Step(null, i);
        adaptive.Step(null, i);
    }

    var (median, totals, fixedMean, adaptiveMean) = Alternate(pairs, () => fixedClip.Step(null, 0), () => adaptive.Step(null, 0));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"paired LSTM step (batch 32, T=100, hidden 128, 1 thread), {pairs} pairs: adaptive / clip_grad_norm_ median ratio {median:F4}, " +
        $"ratio of totals {totals:F4}, mean step {fixedMean:F1} ms clip_grad_norm_ / {adaptiveMean:F1} ms AdaptiveGradientClipper (past its warm-up)"));
    return 0;
}

/// <summary>Times <paramref name="baseline"/> and <paramref name="candidate"/> in alternating order, so drift in machine load hits both equally.</summary>
static (double MedianRatio, double TotalsRatio, double BaselineMean, double CandidateMean) Alternate(int pairs, Action baseline, Action candidate)
{
    var ratios = new List<double>();
    double baselineTotal = 0, candidateTotal = 0;
    for (var i = 0; i < pairs; i++)
    {
        var baselineFirst = i % 2 == 0;
        var a = baselineFirst ? Time(baseline) : Time(candidate);
        var b = baselineFirst ? Time(candidate) : Time(baseline);
        var (plain, measured) = baselineFirst ? (a, b) : (b, a);
        ratios.Add(measured / plain);
        baselineTotal += plain;
        candidateTotal += measured;
    }

    ratios.Sort();
    return (ratios[ratios.Count / 2], candidateTotal / baselineTotal, baselineTotal / pairs, candidateTotal / pairs);

    static double Time(Action action)
    {
        var start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}

static int Soak(int steps, bool watched)
{
    set_num_threads(1);
    manual_seed(3);
    using var loop = new TrainingLoop(new SequenceModel("lstm", 2, 16, Init.Orthogonal), 8, 20, 1e-3, 1.0, seed: 3);
    using var watch = watched ? GradientWatch.Attach(loop.Model) : null;
    Console.WriteLine($"soak: {steps} steps, LSTM hidden 16, T=20, batch 8, watch {(watched ? "recording every step with profiles" : "off")}");
    Console.WriteLine("step     rss_mib  managed_mib  live_tensors  anomalies_so_far");
    var anomalies = 0;
    var interval = Math.Max(1, steps / 10);
    for (var step = 1; step <= steps; step++)
    {
        var (_, report) = loop.Step(watch, step);
        anomalies += report?.Anomalies.Count ?? 0;
        if (step == 1 || step % interval == 0)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{step,-8} {ResidentMiB(),7:F1}  {GC.GetTotalMemory(true) / 1048576.0,11:F2}  {DisposeScopeManager.Statistics.ThreadTotalLiveCount,12}  {anomalies,16}"));
        }
    }

    return 0;

    static double ResidentMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return double.NaN;
    }
}

static int CalibrateSeeds(int seeds)
{
    set_num_threads(2);
    Console.WriteLine("healthy LSTM (orthogonal, forget bias 1, clip 1, Adam 5e-3), adding problem T=30, batch 32, hidden 32, 200 steps per seed");
    Console.WriteLine("seed  min Norms[0]/Norms[T-1]  steps < 1e-3  min window ratio (first 10% / last 10%)  steps < 1e-3  max global/mean(prev)");
    for (var seed = 1; seed <= seeds; seed++)
    {
        manual_seed(seed);
        using var loop = new TrainingLoop(new SequenceModel("lstm", 2, 32, Init.Orthogonal), 32, 30, 5e-3, 1.0, seed);
        using var watch = GradientWatch.Attach(loop.Model);
        double minEndpoint = double.PositiveInfinity, minWindow = double.PositiveInfinity, maxJump = 0;
        int endpointBelow = 0, windowBelow = 0;
        var history = new List<double>();
        for (var step = 1; step <= 200; step++)
        {
            var (_, report) = loop.Step(watch, step);
            var norms = report!.Timesteps[0].Norms;
            var window = Math.Max(1, norms.Length / 10);
            var endpoint = norms[0] / norms[^1];
            var windowed = norms.Take(window).Average() / norms.TakeLast(window).Average();
            minEndpoint = Math.Min(minEndpoint, endpoint);
            minWindow = Math.Min(minWindow, windowed);
            endpointBelow += endpoint < 1e-3 ? 1 : 0;
            windowBelow += windowed < 1e-3 ? 1 : 0;
            if (history.Count >= 10)
            {
                maxJump = Math.Max(maxJump, report.GlobalNorm / history.TakeLast(100).Average());
            }

            history.Add(report.GlobalNorm);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{seed,4}  {minEndpoint,23:G3}  {endpointBelow,12}  {minWindow,39:G3}  {windowBelow,12}  {maxJump,20:F2}"));
    }

    return 0;
}

static int Calibrate()
{
    set_num_threads(2);
    Console.WriteLine("first/last = mean norm over the first tenth of the timesteps / over the last tenth, as the watch tests it;");
    Console.WriteLine("final loss = mean of the last 20 steps (mean predictor: 0.167)");
    Console.WriteLine("scenario                                   steps  first/last ratio (min .. max)  max global/mean(prev)  final loss  anomalies (default options)");
    Scenario("healthy LSTM, orthogonal, clip 1, T=30", "lstm", Init.Orthogonal, 30, Environment.GetEnvironmentVariable("GD_CALIBRATE_QUICK") is null ? 400 : 1, 5e-3, 1.0);
    if (Environment.GetEnvironmentVariable("GD_CALIBRATE_QUICK") is null)
    {
        Scenario("orthogonal LSTM, clip 1, T=100", "lstm", Init.Orthogonal, 100, 200, 5e-3, 1.0);
        Scenario("orthogonal GRU, clip 1, T=100", "gru", Init.Orthogonal, 100, 200, 5e-3, 1.0);
        Scenario("default-init LSTM, T=100", "lstm", Init.Default, 100, 50, 5e-3, 1.0);
        Scenario("default-init LSTM, T=200", "lstm", Init.Default, 200, 20, 5e-3, 1.0);
        Scenario("default-init tanh RNN, T=100", "tanh", Init.Default, 100, 50, 5e-3, 1.0);
        Scenario("ReLU RNN, W_hh = 1.3 I, T=30, no clip", "relu", Init.ScaledIdentity, 30, 20, 1e-3, null);
    }

    Scenario("tanh RNN, 2x orthogonal, SGD 0.05, no clip", "tanh", Init.ScaledOrthogonal, 30, 300, 5e-2, null, sgd: true);
    Scenario("tanh RNN, 2x orthogonal, SGD 0.2, no clip", "tanh", Init.ScaledOrthogonal, 30, 300, 2e-1, null, sgd: true);
    Scenario("ReLU RNN, orthogonal, SGD 0.05, no clip", "relu", Init.Orthogonal, 30, 300, 5e-2, null, sgd: true);
    return 0;

    static void Scenario(string label, string cell, Init init, int seqLen, int steps, double learningRate, double? clip, bool sgd = false)
    {
        manual_seed(5);
        using var loop = new TrainingLoop(new SequenceModel(cell, 2, 32, init), 32, seqLen, learningRate, clip, seed: 5, sgd);
        using var watch = GradientWatch.Attach(loop.Model);
        double minRatio = double.PositiveInfinity, maxRatio = 0, maxJump = 0;
        var history = new List<double>();
        var kinds = new Dictionary<string, int>();
        var recentLosses = new Queue<double>();
        for (var step = 1; step <= steps; step++)
        {
            var (loss, report) = loop.Step(watch, step);
            recentLosses.Enqueue(loss);
            if (recentLosses.Count > 20)
            {
                recentLosses.Dequeue();
            }

            var norms = report!.Timesteps[0].Norms;
            var ends = Math.Max(1, norms.Length / 10);
            var ratio = norms.Take(ends).Average() / norms.TakeLast(ends).Average();
            minRatio = Math.Min(minRatio, ratio);
            maxRatio = Math.Max(maxRatio, ratio);
            if (history.Count >= 10)
            {
                var window = history.Skip(Math.Max(0, history.Count - 100)).ToList();
                var jump = report.GlobalNorm / window.Average();
                maxJump = Math.Max(maxJump, jump);
                if (jump > 5)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    step {step}: global norm {report.GlobalNorm:G3} = {jump:F1}× the mean of the previous {window.Count}"));
                }
            }

            if (double.IsFinite(report.GlobalNorm))
            {
                history.Add(report.GlobalNorm);
            }

            foreach (var anomaly in report.Anomalies)
            {
                var key = anomaly.Kind.ToString();
                kinds[key] = kinds.GetValueOrDefault(key) + 1;
            }
        }

        var found = kinds.Count == 0 ? "none" : string.Join(", ", kinds.Select(k => $"{k.Key} ×{k.Value}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label,-42} {steps,5}  {minRatio,12:G3} .. {maxRatio,-12:G3}  {maxJump,21:F2}  {recentLosses.Average(),10:G3}  {found}"));
    }
}
