namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// The sources of samples/RiskyTraining in a scratch project that gets the analyzer by <c>dotnet add package</c>, built
/// once with a SARIF log. Its .editorconfig raises the two Info rules to warnings, as a team that wants them in CI would.
/// </summary>
public sealed class RiskySampleBuild : IDisposable
{
    public static readonly string EditorConfig = """
        dotnet_diagnostic.GD0004.severity = warning
        dotnet_diagnostic.GD0005.severity = warning

        """;

    public RiskySampleBuild(PackedPackages package)
    {
        Project = ScratchProject.FromSources(package, Repository.Sample("RiskyTraining"), EditorConfig);
        Project.AddAnalyzerPackage(package);
        SarifPath = Path.Combine(Project.Directory, "build.sarif");
        (ExitCode, Output) = Project.Build(SarifPath);
    }

    public ScratchProject Project { get; }

    public string SarifPath { get; }

    public int ExitCode { get; }

    public string Output { get; }

    public void Dispose() => Project.Dispose();
}
