using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// One operation is a whole compilation (seconds), so a few monitored iterations are enough; in-process because
/// the machine is shared and a generated benchmark project would mean another restore and build.
/// </summary>
public sealed class BenchmarkConfig : ManualConfig
{
    public BenchmarkConfig()
    {
        AddJob(Job.Default
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(7)
            .WithToolchain(InProcessEmitToolchain.Instance));
        AddColumn(BaselineRatioColumn.RatioMean, StatisticColumn.Median);
        WithOption(ConfigOptions.DisableOptimizationsValidator, true);
    }
}
