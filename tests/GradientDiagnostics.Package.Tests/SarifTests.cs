using Microsoft.CodeAnalysis;

namespace GradientDiagnostics.Package.Tests;

/// <summary><c>dotnet build -p:ErrorLog=out.sarif%2Cversion=2.1</c> of a user's project, as a CI pipeline runs it.</summary>
[Collection(PackedPackagesCollection.Name)]
public class SarifTests(PackedPackages package)
{
    [Fact]
    public void Sarif_log_describes_every_rule_with_its_help_link()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var log = Load();
        Assert.Equal("2.1.0", log.Version);
        foreach (var id in ShippedRules.ImplementedTrainingRules)
        {
            var rule = Assert.Single(log.Rules, r => r.Id == id);
            Assert.Equal(ShippedRules.HelpLink(id), rule.HelpUri);
            // The rule's default, not the project's .editorconfig override: Info is "note" in SARIF.
            Assert.Equal(ShippedRules.DefaultSeverity(id) == DiagnosticSeverity.Info ? "note" : "warning", rule.DefaultLevel);
        }
    }

    [Fact]
    public void Sarif_log_has_a_located_result_for_every_rule_at_the_configured_severity()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var log = Load();
        var sources = Directory.GetFiles(package.RiskyBuild.Project.Directory, "*.cs").ToDictionary(p => new Uri(p).AbsoluteUri, File.ReadAllLines);
        var gdResults = log.Results.Where(r => ShippedRules.TrainingRuleIds.Contains(r.RuleId)).ToList();
        var reported = gdResults.Select(r => r.RuleId).ToHashSet();
        Assert.True(
            ShippedRules.ImplementedTrainingRules.SetEquals(reported),
            $"Expected results for [{string.Join(", ", ShippedRules.ImplementedTrainingRules)}], the log has [{string.Join(", ", reported.Order())}]");

        foreach (var result in gdResults)
        {
            // GD0004 and GD0005 default to Info ("note"); the scratch project's .editorconfig raises them.
            Assert.Equal("warning", result.Level);
            var location = Assert.Single(result.Locations);
            Assert.True(sources.TryGetValue(location.Uri, out var lines), $"{result.RuleId} points at {location.Uri}, not at a source of the project");
            Assert.InRange(location.StartLine, 1, lines!.Length);
        }
    }

    [Fact]
    public void Sarif_results_sit_on_the_lines_the_sample_marks_with_their_rule_id()
    {
        ShippedRules.AssertHeadlineRuleImplemented();
        var log = Load();
        foreach (var result in log.Results.Where(r => ShippedRules.TrainingRuleIds.Contains(r.RuleId)))
        {
            var location = Assert.Single(result.Locations);
            var lines = File.ReadAllLines(new Uri(location.Uri).LocalPath);
            // The sample's comment naming the rule is on one of the few lines just above the flagged code.
            var above = lines.Take(location.StartLine).TakeLast(4);
            Assert.True(above.Any(l => l.Contains("// " + result.RuleId, StringComparison.Ordinal) || l.Contains(result.RuleId + ":", StringComparison.Ordinal)),
                $"{result.RuleId} at {location.Uri}:{location.StartLine} is not on a line the sample marks with that rule: {result.Message}");
        }
    }

    private SarifLog Load()
    {
        var build = package.RiskyBuild;
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.True(File.Exists(build.SarifPath), $"dotnet build wrote no SARIF log at {build.SarifPath}\n{build.Output}");
        return SarifLog.Load(build.SarifPath);
    }
}
