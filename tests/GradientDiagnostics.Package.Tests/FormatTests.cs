namespace GradientDiagnostics.Package.Tests;

/// <summary><c>dotnet format analyzers</c> applying the packaged code fixes to a copy of samples/RiskyTraining.</summary>
[Collection(PackedPackagesCollection.Name)]
public class FormatTests(PackedPackages package)
{
    [Fact]
    public void Dotnet_format_fixes_a_copy_of_RiskyTraining_and_the_result_builds_without_those_diagnostics()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var fixable = ShippedRules.FixableTrainingRules;
        Assert.False(fixable.IsEmpty, "The package holds no code fix for any training rule.");
        var formatted = package.FormattedRisky;
        Assert.True(formatted.FormatExitCode == 0, $"dotnet {string.Join(' ', formatted.FormatArguments)} failed:\n{formatted.FormatLog}");
        Assert.NotEqual(formatted.SourcesBefore, formatted.SourcesAfter);
        Assert.True(formatted.BuildExitCode == 0, $"The fixed sources do not build:\n{formatted.BuildOutput}\n\nFixed sources:\n{formatted.SourcesAfter}");

        var remaining = SarifLog.Load(formatted.SarifPath).Results.Where(r => ShippedRules.TrainingRuleIds.Contains(r.RuleId)).ToList();
        var stillFixable = remaining.Where(r => fixable.Contains(r.RuleId)).ToList();
        Assert.True(stillFixable.Count == 0,
            $"Diagnostics with a code fix survived {FormattedRiskySample.FormatRuns} runs of dotnet format:\n"
            + string.Join("\n", stillFixable.Select(r => $"{r.RuleId} {r.Locations.FirstOrDefault()?.Uri}:{r.Locations.FirstOrDefault()?.StartLine} {r.Message}"))
            + $"\n\ndotnet format said:\n{formatted.FormatLog}\n\nFixed sources:\n{formatted.SourcesAfter}");

        if (fixable.Contains("GD0001"))
        {
            Assert.Contains($"clip_grad_norm_(model.parameters(), {FormattedRiskySample.ClipNorm})", formatted.SourcesAfter, StringComparison.Ordinal);
        }

        // Rules without a fix were left alone, and the analyzers still ran over the fixed code.
        var unfixable = ShippedRules.ImplementedTrainingRules.Except(fixable);
        Assert.True(unfixable.SetEquals(remaining.Select(r => r.RuleId)),
            $"Expected only the rules without a fix, [{string.Join(", ", unfixable)}], to remain; got [{string.Join(", ", remaining.Select(r => r.RuleId).Distinct().Order())}]");
    }

    [Fact]
    public void The_fixed_RiskyTraining_runs_to_completion_on_real_TorchSharp()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var formatted = package.FormattedRisky;
        Assert.True(formatted.BuildExitCode == 0, $"The fixed sources do not build:\n{formatted.BuildOutput}");

        var (exitCode, output) = formatted.Project.Run("run", "--project", formatted.Project.ProjectFile, "--no-build");
        // The sample prints "failed:" for a training loop LibTorch refused; a fix must not leave or create one.
        Assert.True(exitCode == 0 && !output.Contains("failed:", StringComparison.Ordinal),
            $"The fixed sample did not train cleanly (exit code {exitCode}):\n{output}\n\nFixed sources:\n{formatted.SourcesAfter}");
        Assert.Equal(3, output.Split('\n').Count(l => l.Contains("final loss", StringComparison.Ordinal)));
    }
}
