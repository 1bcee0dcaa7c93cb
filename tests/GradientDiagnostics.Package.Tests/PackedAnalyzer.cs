namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// Packs GradientDiagnostics.Analyzer once per test run into a temporary local feed. The version is unique per run
/// (0.1.0-e2e.&lt;UTC time&gt;.&lt;process id&gt;) so the shared NuGet cache can be reused without ever serving a stale copy;
/// that cached copy is removed again on dispose.
/// </summary>
public sealed class PackedAnalyzer : IDisposable
{
    public const string PackageId = "GradientDiagnostics.Analyzer";

    public PackedAnalyzer()
    {
        Version = $"0.1.0-e2e.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        Feed = Directory.CreateTempSubdirectory("gd-feed-").FullName;
        // PackageVersion, not Version: the analyzer assemblies keep their identity, so the referenced projects stay up to date.
        var (exitCode, log) = Repository.Dotnet(Repository.Root, "pack", Repository.PackageProject, "-c", "Release", "-o", Feed, $"-p:PackageVersion={Version}");
        if (exitCode != 0)
        {
            Directory.Delete(Feed, recursive: true);
            throw new InvalidOperationException($"dotnet pack {Repository.PackageProject} failed with exit code {exitCode}:\n{log}");
        }

        PackagePath = Path.Combine(Feed, $"{PackageId}.{Version}.nupkg");
        if (!File.Exists(PackagePath))
        {
            throw new InvalidOperationException($"dotnet pack did not produce {PackagePath}; the feed holds: {string.Join(", ", Directory.GetFiles(Feed).Select(Path.GetFileName))}\n{log}");
        }

        riskyBuild = new Lazy<RiskySampleBuild>(() => new RiskySampleBuild(this));
        formattedRisky = new Lazy<FormattedRiskySample>(() => new FormattedRiskySample(this));
    }

    private readonly Lazy<RiskySampleBuild> riskyBuild;
    private readonly Lazy<FormattedRiskySample> formattedRisky;

    /// <summary>A runnable copy of samples/RiskyTraining fixed by dotnet format, then built with a SARIF log.</summary>
    public FormattedRiskySample FormattedRisky => formattedRisky.Value;

    /// <summary>samples/RiskyTraining built once, as a user's project referencing this package, with a SARIF log.</summary>
    public RiskySampleBuild RiskyBuild => riskyBuild.Value;

    public string Version { get; }

    /// <summary>A local folder feed holding only this run's package.</summary>
    public string Feed { get; }

    public string PackagePath { get; }

    public void Dispose()
    {
        if (riskyBuild.IsValueCreated)
        {
            riskyBuild.Value.Dispose();
        }

        if (formattedRisky.IsValueCreated)
        {
            formattedRisky.Value.Dispose();
        }

        Directory.Delete(Feed, recursive: true);
        var packageFolder = Path.Combine(GlobalPackagesFolder, PackageId.ToLowerInvariant());
        var cached = Path.Combine(packageFolder, Version.ToLowerInvariant());
        if (Directory.Exists(cached))
        {
            Directory.Delete(cached, recursive: true);
        }

        if (Directory.Exists(packageFolder) && !Directory.EnumerateFileSystemEntries(packageFolder).Any())
        {
            Directory.Delete(packageFolder);
        }
    }

    private static string GlobalPackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
}

/// <summary>Every test that needs the packed analyzer shares one pack.</summary>
[CollectionDefinition(Name)]
public sealed class PackedAnalyzerCollection : ICollectionFixture<PackedAnalyzer>
{
    public const string Name = "packed analyzer";
}
