using System.Text.RegularExpressions;

namespace GradientDiagnostics.Package.Tests;

/// <summary>dotnet build of a user's project that references the packed analyzer.</summary>
[Collection(PackedPackagesCollection.Name)]
public partial class BuildOutputTests(PackedPackages package)
{
    [Fact]
    public void Build_of_risky_training_code_succeeds_and_reports_every_rule_as_a_warning_with_its_help_link()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var build = package.RiskyBuild;
        Assert.True(build.ExitCode == 0, $"The build failed; GD warnings must not fail a user's build.\n{build.Output}");

        var warnings = CompilerWarning().Matches(build.Output).Select(m => (Id: m.Groups["id"].Value, File: m.Groups["file"].Value, Message: m.Groups["message"].Value)).ToList();
        var reported = warnings.Select(w => w.Id).Where(ShippedRules.TrainingRuleIds.Contains).ToHashSet();
        Assert.True(
            ShippedRules.ImplementedTrainingRules.SetEquals(reported),
            $"Expected warnings for [{string.Join(", ", ShippedRules.ImplementedTrainingRules)}], the build reported [{string.Join(", ", reported.Order())}]\n{build.Output}");

        foreach (var warning in warnings.Where(w => ShippedRules.TrainingRuleIds.Contains(w.Id)))
        {
            Assert.StartsWith(build.Project.Directory, warning.File, StringComparison.Ordinal);
            Assert.EndsWith($"({ShippedRules.HelpLink(warning.Id)})", warning.Message, StringComparison.Ordinal);
        }
    }

    // path(line,col): warning GD0001: message (help link) [project]
    [GeneratedRegex(@"^(?<file>\S[^(\r\n]*\.cs)\((?<line>\d+),(?<column>\d+)\): warning (?<id>[A-Z]+\d+): (?<message>.*?) \[[^\]\r\n]+\]\r?$", RegexOptions.Multiline)]
    private static partial Regex CompilerWarning();
}
