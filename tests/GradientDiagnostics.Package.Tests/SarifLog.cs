using System.Text.Json;

namespace GradientDiagnostics.Package.Tests;

/// <summary>The parts of a SARIF 2.1 error log (as written by the C# compiler's ErrorLog) that the tests check.</summary>
internal sealed record SarifLog(string Version, IReadOnlyList<SarifRule> Rules, IReadOnlyList<SarifResult> Results)
{
    public static SarifLog Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        var rules = new List<SarifRule>();
        var results = new List<SarifResult>();
        foreach (var run in root.GetProperty("runs").EnumerateArray())
        {
            var driver = run.GetProperty("tool").GetProperty("driver");
            if (driver.TryGetProperty("rules", out var ruleArray))
            {
                rules.AddRange(ruleArray.EnumerateArray().Select(r => new SarifRule(
                    r.GetProperty("id").GetString()!,
                    r.TryGetProperty("helpUri", out var help) ? help.GetString() : null,
                    // In SARIF 2.1 an absent level means "warning".
                    r.TryGetProperty("defaultConfiguration", out var configuration) && configuration.TryGetProperty("level", out var level) ? level.GetString()! : "warning")));
            }

            if (run.TryGetProperty("results", out var resultArray))
            {
                results.AddRange(resultArray.EnumerateArray().Select(ReadResult));
            }
        }

        return new SarifLog(root.GetProperty("version").GetString()!, rules, results);
    }

    private static SarifResult ReadResult(JsonElement result)
    {
        var locations = new List<SarifLocation>();
        if (result.TryGetProperty("locations", out var locationArray))
        {
            foreach (var location in locationArray.EnumerateArray())
            {
                if (location.TryGetProperty("physicalLocation", out var physical))
                {
                    var uri = physical.GetProperty("artifactLocation").GetProperty("uri").GetString()!;
                    var line = physical.TryGetProperty("region", out var region) && region.TryGetProperty("startLine", out var start) ? start.GetInt32() : 0;
                    locations.Add(new SarifLocation(uri, line));
                }
            }
        }

        return new SarifResult(
            result.GetProperty("ruleId").GetString()!,
            result.TryGetProperty("level", out var level) ? level.GetString()! : "warning", // absent means "warning"
            result.GetProperty("message").GetProperty("text").GetString()!,
            locations);
    }
}

internal sealed record SarifRule(string Id, string? HelpUri, string DefaultLevel);

internal sealed record SarifResult(string RuleId, string Level, string Message, IReadOnlyList<SarifLocation> Locations);

internal sealed record SarifLocation(string Uri, int StartLine);
