namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// A runnable copy of samples/RiskyTraining that references the packed analyzer, fixed with
/// <c>dotnet format analyzers --diagnostics &lt;every rule with a fix&gt; --severity info</c>, then built with a SARIF log.
/// </summary>
public sealed class FormattedRiskySample : IDisposable
{
    /// <summary>
    /// dotnet format analyses once and then applies each rule's Fix All in turn, so a fix that creates another rule's
    /// diagnostic (GD0005 turns an RNN into a GRU that GD0004 may then want initialised) is only seen by a second run,
    /// as it would be for a user who runs it again. A third run would mean the fixes do not settle.
    /// </summary>
    public const int FormatRuns = 2;

    /// <summary>The clip norm the GD0001 fix writes, set the way a user sets it.</summary>
    public const string ClipNorm = "0.5";

    public static readonly string EditorConfig = $"gradient_diagnostics.default_clip_norm = {ClipNorm}\n";

    public FormattedRiskySample(PackedPackages package)
    {
        Project = ScratchProject.FromSources(package, Repository.Sample("RiskyTraining"), EditorConfig, runnable: true);
        Project.ReferenceAnalyzerPackage(package);
        SourcesBefore = Project.ReadAllSources();

        FormatArguments = ["format", "analyzers", Project.ProjectFile, "--diagnostics", .. ShippedRules.FixableTrainingRules, "--severity", "info", "--verbosity", "normal"];
        var logs = new List<string>();
        for (var run = 1; run <= FormatRuns; run++)
        {
            var (exitCode, log) = Project.Run(FormatArguments);
            logs.Add($"run {run}, exit code {exitCode}:\n{log}");
            if (exitCode != 0)
            {
                FormatExitCode = exitCode;
                break;
            }
        }

        FormatLog = string.Join("\n", logs);
        SourcesAfter = Project.ReadAllSources();
        SarifPath = Path.Combine(Project.Directory, "fixed.sarif");
        (BuildExitCode, BuildOutput) = Project.Build(SarifPath);
    }

    public ScratchProject Project { get; }

    public string[] FormatArguments { get; }

    public int FormatExitCode { get; }

    public string FormatLog { get; }

    public string SourcesBefore { get; }

    public string SourcesAfter { get; }

    public string SarifPath { get; }

    public int BuildExitCode { get; }

    public string BuildOutput { get; }

    public void Dispose() => Project.Dispose();
}
