namespace GradientDiagnostics.Package.Tests;

/// <summary><c>dotnet format analyzers</c> applying the packaged code fixes to a copy of samples/RiskyTraining.</summary>
[Collection(PackedAnalyzerCollection.Name)]
public class FormatTests(PackedAnalyzer package)
{
    [Fact]
    public void Dotnet_format_fixes_a_copy_of_RiskyTraining_and_the_result_builds_without_those_diagnostics()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var fixable = ShippedRules.FixableTrainingRules;
        Assert.False(fixable.IsEmpty, "The package holds no code fix for any training rule.");

        using var project = ScratchProject.FromSources(package, Repository.Sample("RiskyTraining"));
        project.ReferenceAnalyzerPackage(package);
        var before = project.ReadAllSources();

        var arguments = new List<string> { "format", "analyzers", project.ProjectFile, "--diagnostics" };
        arguments.AddRange(fixable);
        arguments.AddRange(["--severity", "info", "--verbosity", "normal"]);
        var (formatExit, formatLog) = project.Run(arguments.ToArray());
        Assert.True(formatExit == 0, $"dotnet {string.Join(' ', arguments)} failed with exit code {formatExit}:\n{formatLog}");
        Assert.NotEqual(before, project.ReadAllSources());

        var sarifPath = Path.Combine(project.Directory, "fixed.sarif");
        var (buildExit, buildLog) = project.Build(sarifPath);
        Assert.True(buildExit == 0, $"The fixed sources do not build:\n{buildLog}\n\nFixed sources:\n{project.ReadAllSources()}");

        var remaining = SarifLog.Load(sarifPath).Results.Where(r => ShippedRules.TrainingRuleIds.Contains(r.RuleId)).ToList();
        var stillFixable = remaining.Where(r => fixable.Contains(r.RuleId)).ToList();
        Assert.True(stillFixable.Count == 0,
            "Diagnostics with a code fix survived dotnet format:\n"
            + string.Join("\n", stillFixable.Select(r => $"{r.RuleId} {r.Locations.FirstOrDefault()?.Uri}:{r.Locations.FirstOrDefault()?.StartLine} {r.Message}"))
            + $"\n\ndotnet format said:\n{formatLog}\n\nFixed sources:\n{project.ReadAllSources()}");

        // Rules without a fix were left alone, and the analyzers still ran over the fixed code.
        var unfixable = ShippedRules.ImplementedTrainingRules.Except(fixable);
        Assert.True(unfixable.SetEquals(remaining.Select(r => r.RuleId)),
            $"Expected only the rules without a fix, [{string.Join(", ", unfixable)}], to remain; got [{string.Join(", ", remaining.Select(r => r.RuleId).Distinct().Order())}]");
    }
}
