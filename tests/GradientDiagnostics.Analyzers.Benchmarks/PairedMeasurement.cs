using System.Diagnostics;
using System.Globalization;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// Compile and compile + analyzers run alternately, round by round, so that load from other processes on a shared
/// machine hits both sides of each pair alike. Process CPU time is reported next to wall time because it is far less
/// sensitive to that load.
/// </summary>
public static class PairedMeasurement
{
    public static void Run(AnalyzerOverheadBenchmarks benchmarks, int rounds)
    {
        var compileCpu = new List<double>();
        var floorCpu = new List<double>();
        var analysedCpu = new List<double>();
        var overhead = new List<double>();
        var overheadAboveFloor = new List<double>();

        // Three unmeasured rounds first: Roslyn's own code is still being JIT-compiled and tiered up.
        for (var round = -3; round < rounds; round++)
        {
            var (w1, c1) = Measure(() => benchmarks.Compile());
            var (w2, c2) = Measure(() => benchmarks.CompileWithNoOpAnalyzer());
            var (w3, c3) = Measure(() => benchmarks.CompileWithAnalyzers());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}{(round < 0 ? " (warm-up)" : string.Empty)}: compile {c1:F0} ms CPU ({w1:F0} wall); + no-op analyzer {c2:F0} ms CPU ({w2:F0} wall); + all analyzers {c3:F0} ms CPU ({w3:F0} wall)"));
            if (round < 0)
            {
                continue;
            }

            compileCpu.Add(c1);
            floorCpu.Add(c2);
            analysedCpu.Add(c3);
            overhead.Add((c3 - c1) / c1);
            overheadAboveFloor.Add((c3 - c2) / c1);
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"Paired, interleaved ({rounds} rounds), median process CPU time: compile {Median(compileCpu):F0} ms, + no-op operation analyzer {Median(floorCpu):F0} ms, + all analyzers {Median(analysedCpu):F0} ms."));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"Analyzer overhead (median of per-round ratios): {100 * Median(overhead):F1}% of compile; {100 * Median(overheadAboveFloor):F1}% of compile above the no-op floor; target <= 5%"));
    }

    private static (double WallMs, double CpuMs) Measure(Action action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        action();
        wall.Stop();
        process.Refresh();
        return (wall.Elapsed.TotalMilliseconds, (process.TotalProcessorTime - cpuBefore).TotalMilliseconds);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
