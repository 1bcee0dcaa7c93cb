namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// Packs every package a user gets (GradientDiagnostics.Analyzer, .Runtime and .Reporting) once per test run, with one
/// <c>dotnet pack build/Packages.slnf</c>, into a temporary local feed. The version is unique per run
/// (0.1.0-e2e.&lt;UTC time&gt;.&lt;process id&gt;) so the shared NuGet cache can be reused without ever serving a stale copy;
/// those cached copies are removed again on dispose.
/// </summary>
public sealed class PackedPackages : IDisposable
{
    public const string AnalyzerId = "GradientDiagnostics.Analyzer";
    public const string RuntimeId = "GradientDiagnostics.Runtime";
    public const string ReportingId = "GradientDiagnostics.Reporting";

    public static readonly string[] Ids = { AnalyzerId, RuntimeId, ReportingId };

    private readonly Lazy<RiskySampleBuild> riskyBuild;
    private readonly Lazy<FormattedRiskySample> formattedRisky;
    private readonly Lazy<UserWorkspace> userWorkspace;

    public PackedPackages()
    {
        Version = $"0.1.0-e2e.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        Feed = Directory.CreateTempSubdirectory("gd-feed-").FullName;
        // PackageVersion, not Version: the assemblies keep their identity, so the referenced projects stay up to date.
        var (exitCode, log) = Repository.Dotnet(Repository.Root, "pack", Repository.PackagesSolutionFilter, "-c", "Release", "-o", Feed, $"-p:PackageVersion={Version}");
        if (exitCode != 0)
        {
            Directory.Delete(Feed, recursive: true);
            throw new InvalidOperationException($"dotnet pack {Repository.PackagesSolutionFilter} failed with exit code {exitCode}:\n{log}");
        }

        var missing = Ids.Select(PackagePath).Where(path => !File.Exists(path)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"dotnet pack did not produce {string.Join(", ", missing)}; the feed holds: {string.Join(", ", Directory.GetFiles(Feed).Select(Path.GetFileName))}\n{log}");
        }

        riskyBuild = new Lazy<RiskySampleBuild>(() => new RiskySampleBuild(this));
        formattedRisky = new Lazy<FormattedRiskySample>(() => new FormattedRiskySample(this));
        userWorkspace = new Lazy<UserWorkspace>(() => new UserWorkspace(this));
    }

    /// <summary>A runnable copy of samples/RiskyTraining fixed by dotnet format, then built with a SARIF log.</summary>
    public FormattedRiskySample FormattedRisky => formattedRisky.Value;

    /// <summary>samples/RiskyTraining built once, as a user's project referencing the analyzer package, with a SARIF log.</summary>
    public RiskySampleBuild RiskyBuild => riskyBuild.Value;

    /// <summary>Users' training programs referencing the runtime packages, restored and built once.</summary>
    public UserWorkspace UserWorkspace => userWorkspace.Value;

    public string Version { get; }

    /// <summary>A local folder feed holding only this run's packages.</summary>
    public string Feed { get; }

    public string PackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    public string SymbolsPackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.snupkg");

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

        if (userWorkspace.IsValueCreated)
        {
            userWorkspace.Value.Dispose();
        }

        Directory.Delete(Feed, recursive: true);
        foreach (var id in Ids)
        {
            var packageFolder = Path.Combine(GlobalPackagesFolder, id.ToLowerInvariant());
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
    }

    public static string GlobalPackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
}

/// <summary>Every test that needs the packed packages shares one pack.</summary>
[CollectionDefinition(Name)]
public sealed class PackedPackagesCollection : ICollectionFixture<PackedPackages>
{
    public const string Name = "packed packages";
}
