using System.Runtime.CompilerServices;

// TorchSharp's random generator is process-wide: tests that seed it must not interleave, or their data and
// initialisation (and so their figures) would depend on scheduling.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace GradientDiagnostics.Runtime.Tests;

internal static class TestAssemblySetup
{
    /// <summary>
    /// The tensors here are tiny; on a loaded 2-core machine intra-op threads only contend (a 100-step test went from
    /// ~2 s to 37 s), so every test computes on one thread.
    /// </summary>
    [ModuleInitializer]
    internal static void SingleIntraOpThread() => TorchSharp.torch.set_num_threads(1);
}
