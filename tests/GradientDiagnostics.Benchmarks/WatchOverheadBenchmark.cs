using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using static TorchSharp.torch;

namespace GradientDiagnostics.Benchmarks;

/// <summary>
/// One LSTM training step (batch 32, T = 100, hidden 128, CPU): without the watch (baseline) and with the watch
/// recording every step, timestep profiles included. Both run in the same process and the same run, so the ratio is paired.
/// </summary>
[Config(typeof(ShortInProcessConfig))]
[MemoryDiagnoser]
public class WatchOverheadBenchmark
{
    private const int Batch = 32;
    private const int SeqLen = 100;
    private const int Hidden = 128;

    private TrainingLoop? unwatched;
    private TrainingLoop? watched;
    private GradientWatch? watch;
    private long step;

    [GlobalSetup]
    public void Setup()
    {
        // Two cores shared with other work: one intra-op thread keeps both arms measuring the same thing.
        set_num_threads(1);
        manual_seed(1);
        unwatched = new TrainingLoop(new SequenceModel("lstm", 2, Hidden, Init.Orthogonal), Batch, SeqLen, 1e-3, 1.0, seed: 1);
        manual_seed(1);
        watched = new TrainingLoop(new SequenceModel("lstm", 2, Hidden, Init.Orthogonal), Batch, SeqLen, 1e-3, 1.0, seed: 1);
        watch = GradientWatch.Attach(watched.Model);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        watch?.Dispose();
        unwatched?.Dispose();
        watched?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public double TrainingStep() => unwatched!.Step(null, step++).Loss;

    [Benchmark]
    public double TrainingStepWithWatch() => watched!.Step(watch, step++).Loss;

    /// <summary>
    /// A short job (1 launch, 3 warm-up and 10 measured iterations) run in-process: the native TorchSharp library is
    /// loaded from this project's patched output instead of a generated project's, and a step takes tens of milliseconds.
    /// </summary>
    private sealed class ShortInProcessConfig : ManualConfig
    {
        public ShortInProcessConfig() =>
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10).WithToolchain(InProcessEmitToolchain.Instance));
    }
}
