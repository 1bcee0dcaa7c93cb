// TorchSharp's random generator is process-wide: tests that seed it must not interleave, or their data and
// initialisation (and so their figures) would depend on scheduling.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
