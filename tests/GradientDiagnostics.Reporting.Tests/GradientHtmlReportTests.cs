using System.Text.Json;
using System.Text.RegularExpressions;
using GradientDiagnostics.Analyzers;

namespace GradientDiagnostics.Reporting.Tests;

public class GradientHtmlReportTests
{
    [Fact]
    public void Report_is_self_contained_with_plotly_inlined()
    {
        var html = GradientHtmlReport.Render(new[] { SyntheticRuns.Run("lstm", steps: 3, timesteps: 4) });

        Assert.Contains("plotly.js v" + GradientHtmlReport.PlotlyVersion, html, StringComparison.Ordinal);
        Assert.DoesNotMatch(new Regex("<script[^>]+src=", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex("<link[^>]+href=", RegexOptions.IgnoreCase), html);
        Assert.Contains("MIT License", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Heatmap_data_holds_log10_of_every_timestep_norm()
    {
        var run = new GradientReportRun("lstm", new[] { SyntheticRuns.Step(1, 3, decay: 0.1), SyntheticRuns.Step(2, 3, decay: 0.01) });

        var heatmap = ReadData(GradientHtmlReport.Render(new[] { run })).GetProperty("runs")[0].GetProperty("heatmaps")[0];

        Assert.Equal("lstm", heatmap.GetProperty("module").GetString());
        Assert.Equal(3, heatmap.GetProperty("timesteps").GetInt32());
        Assert.Equal(new long[] { 1, 2 }, heatmap.GetProperty("steps").EnumerateArray().Select(s => s.GetInt64()));
        var rows = heatmap.GetProperty("log10").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Assert.Equal(new[] { -2.0, -1.0, 0.0 }, rows[0]);
        Assert.Equal(new[] { -4.0, -2.0, 0.0 }, rows[1]);
    }

    [Fact]
    public void Non_finite_and_zero_norms_become_gaps_not_numbers()
    {
        var step = new GradientStepReport(
            7,
            double.NaN,
            new Dictionary<string, double> { ["rnn.weight_hh_l0"] = double.PositiveInfinity },
            new[] { new TimestepProfile("rnn", new[] { 0.0, double.NaN, 2.0 }) },
            new[] { new GradientAnomaly(GradientAnomalyKind.NonFinite, "gradient of rnn.weight_hh_l0 is inf", "clip gradients — GD0001") });

        var html = GradientHtmlReport.Render(new[] { new GradientReportRun("rnn", new[] { step }) });
        var run = ReadData(html).GetProperty("runs")[0];

        var row = run.GetProperty("heatmaps")[0].GetProperty("log10")[0];
        Assert.Equal(JsonValueKind.Null, row[0].ValueKind);
        Assert.Equal(JsonValueKind.Null, row[1].ValueKind);
        Assert.Equal(Math.Round(Math.Log10(2.0), 3), row[2].GetDouble());
        Assert.Equal(JsonValueKind.Null, run.GetProperty("globalNorms")[0].ValueKind);
        Assert.Equal(JsonValueKind.Null, run.GetProperty("parameters")[0].GetProperty("norms")[0].ValueKind);
        Assert.Contains("gradient of rnn.weight_hh_l0 is inf", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Remedies_link_the_rule_documentation()
    {
        var anomaly = new GradientAnomaly(GradientAnomalyKind.Exploding, "global norm 1.2e4", "clip gradients — GD0001", new[] { "GD0001" });
        var run = new GradientReportRun("rnn", new[] { SyntheticRuns.Step(1, 4, anomalies: anomaly) })
        {
            Findings = new[] { "GD0003: default initialisation of a vanilla RNN" },
        };

        var html = GradientHtmlReport.Render(new[] { run });

        Assert.Contains($"<a class=\"rule\" href=\"{DiagnosticDescriptors.HelpLink("GD0001")}\">GD0001</a>", html, StringComparison.Ordinal);
        Assert.Contains($"<a class=\"rule\" href=\"{DiagnosticDescriptors.HelpLink("GD0003")}\">GD0003</a>", html, StringComparison.Ordinal);
        Assert.Contains("<tr class=\"exploding\"><td>1</td><td>exploding</td><td>global norm 1.2e4</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_rule_documentation_is_where_the_analyzer_help_links_point()
    {
        Assert.Equal(DiagnosticDescriptors.HelpLinkBase, GradientReportOptions.DefaultRuleDocumentationBase.AbsoluteUri);
    }

    [Fact]
    public void Rule_links_follow_a_custom_documentation_base()
    {
        var anomaly = new GradientAnomaly(GradientAnomalyKind.Vanishing, "t=0 gets 1e-9 of t=T-1", "gated cell — GD0005", new[] { "GD0005" });
        var options = new GradientReportOptions { RuleDocumentationBase = new Uri("https://docs.example.test/rules/") };

        var html = GradientHtmlReport.Render(new[] { new GradientReportRun("rnn", new[] { SyntheticRuns.Step(1, 4, anomalies: anomaly) }) }, options);

        Assert.Contains("href=\"https://docs.example.test/rules/GD0005.md\"", html, StringComparison.Ordinal);
        Assert.Contains("href=\"https://docs.example.test/runtime.md#remedies\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void An_anomaly_links_the_rules_it_lists_and_never_rules_merely_written_in_its_text()
    {
        var anomaly = new GradientAnomaly(
            GradientAnomalyKind.Vanishing,
            "rnn: t=0 gets 1e-9 of t=T-1 (GD0002 would not help)",
            "use a gated cell — GD0005; see also GD0009",
            new[] { "GD0005", "GD0004" });

        var html = GradientHtmlReport.Render(new[] { new GradientReportRun("rnn", new[] { SyntheticRuns.Step(1, 4, anomalies: anomaly) }) });

        var cell = Regex.Match(html, "<tr class=\"vanishing\">.*?</tr>", RegexOptions.Singleline).Value;
        Assert.Contains($"use a gated cell — <a class=\"rule\" href=\"{DiagnosticDescriptors.HelpLink("GD0005")}\">GD0005</a>; see also GD0009", cell, StringComparison.Ordinal);
        Assert.EndsWith($"(<a class=\"rule\" href=\"{DiagnosticDescriptors.HelpLink("GD0004")}\">GD0004</a>)</td></tr>", cell, StringComparison.Ordinal);
        Assert.DoesNotContain("GD0002.md", cell, StringComparison.Ordinal);
        Assert.DoesNotContain("GD0009.md", cell, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_run_has_a_memory_horizon_headline_a_summary_column_and_its_course_over_training()
    {
        // Norms halve per step back (gain 0.5); the last tenth (1, 0.5, 0.25) averages 0.583, so the gradient reaches back
        // while 0.5^k ≥ 5.83e-4: k = 0 … 10, 11 of 30 timesteps.
        var run = SyntheticRuns.Run("lstm", steps: 20, timesteps: 30, decay: 0.5);

        var html = GradientHtmlReport.Render(new[] { run });

        Assert.Contains("<p class=\"headline\" id=\"run-0-headline\">Gradient reaches <strong>11 of 30</strong> timesteps back; per-step gain <strong>0.5</strong> (below 1: it shrinks at every step back in time, so it vanishes).", html, StringComparison.Ordinal);
        Assert.Contains("<td>11 of 30</td><td>0.5</td>", html, StringComparison.Ordinal);
        var horizon = ReadData(html).GetProperty("runs")[0].GetProperty("horizon");
        Assert.Equal(30, horizon.GetProperty("sequenceLength").GetInt32());
        Assert.Equal(Enumerable.Repeat(11, 20), horizon.GetProperty("values").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Contains("<div class=\"chart\" id=\"run-0-horizon\"></div>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Unprofiled_modules_are_shown_with_the_remedy_and_only_when_there_are_some()
    {
        var blind = new GradientStepReport(1, 1.0, new Dictionary<string, double> { ["encoder.weight_hh_l0"] = 1.0 }, Array.Empty<TimestepProfile>(), Array.Empty<GradientAnomaly>(), new[] { "encoder" });
        var seeing = SyntheticRuns.Step(2, 4);

        var html = GradientHtmlReport.Render(new[] { new GradientReportRun("blind", new[] { blind, seeing }), SyntheticRuns.Run("lstm", 2, 4) });

        Assert.Contains("<th>not profiled</th>", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"bad\">encoder</td>", html, StringComparison.Ordinal);
        Assert.Contains("<code>encoder</code> received gradients but produced no timestep profile in 1 of 2 steps.", html, StringComparison.Ordinal);
        Assert.Contains("TrackInput", html, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(html, "class=\"unprofiled\""));
        Assert.DoesNotContain("not profiled", GradientHtmlReport.Render(new[] { SyntheticRuns.Run("lstm", 2, 4) }), StringComparison.Ordinal);
    }

    [Fact]
    public void Names_are_encoded_and_cannot_close_the_data_script()
    {
        var hostile = "</script><img src=x onerror=alert(1)>";
        var run = new GradientReportRun(hostile, new[] { SyntheticRuns.Step(1, 2) }) { Description = "<b>bold</b>" };

        var html = GradientHtmlReport.Render(new[] { run });

        Assert.DoesNotContain("<img src=x", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>bold</b>", html, StringComparison.Ordinal);
        Assert.Equal(hostile, ReadData(html).GetProperty("runs")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void Long_runs_are_thinned_in_the_heatmap_keeping_first_and_last_step()
    {
        var run = SyntheticRuns.Run("lstm", steps: 1000, timesteps: 2);

        var data = ReadData(GradientHtmlReport.Render(new[] { run }, new GradientReportOptions { MaxHeatmapRows = 100 })).GetProperty("runs")[0];

        var steps = data.GetProperty("heatmaps")[0].GetProperty("steps").EnumerateArray().Select(s => s.GetInt64()).ToArray();
        Assert.Equal(100, steps.Length);
        Assert.Equal(1, steps[0]);
        Assert.Equal(1000, steps[^1]);
        Assert.Equal(1000, data.GetProperty("globalNorms").GetArrayLength());
    }

    [Fact]
    public void A_module_called_twice_per_step_gets_two_heatmaps()
    {
        var step = new GradientStepReport(
            1,
            1.0,
            new Dictionary<string, double>(),
            new[] { new TimestepProfile("encoder", new[] { 1.0, 2.0 }), new TimestepProfile("encoder", new[] { 3.0 }) },
            Array.Empty<GradientAnomaly>());

        var heatmaps = ReadData(GradientHtmlReport.Render(new[] { new GradientReportRun("seq2seq", new[] { step }) })).GetProperty("runs")[0].GetProperty("heatmaps");

        Assert.Equal(new[] { "encoder", "encoder (call 2)" }, heatmaps.EnumerateArray().Select(h => h.GetProperty("module").GetString()));
    }

    [Fact]
    public void Bad_input_is_rejected_with_a_message_naming_it()
    {
        var run = SyntheticRuns.Run("lstm", 1, 2);

        Assert.Contains("at least one run", Assert.Throws<ArgumentException>(() => GradientHtmlReport.Render(Array.Empty<GradientReportRun>())).Message, StringComparison.Ordinal);
        Assert.Contains("'lstm' appears 2 times", Assert.Throws<ArgumentException>(() => GradientHtmlReport.Render(new[] { run, run })).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new GradientReportRun(" ", Array.Empty<GradientStepReport>()));
        Assert.Contains("Step report 1", Assert.Throws<ArgumentException>(() => new GradientReportRun("x", new[] { SyntheticRuns.Step(1, 2), null! })).Message, StringComparison.Ordinal);
        Assert.Equal("MaxHeatmapRows", Assert.Throws<ArgumentOutOfRangeException>(() => GradientHtmlReport.Render(new[] { run }, new GradientReportOptions { MaxHeatmapRows = 1 })).ParamName);

        var nullRun = Assert.Throws<ArgumentException>(() => GradientHtmlReport.Render(new[] { run, null! }));
        Assert.Equal("runs", nullRun.ParamName);
        Assert.Contains("Run 1 is null", nullRun.Message, StringComparison.Ordinal);

        var folder = Directory.CreateTempSubdirectory("gd-report-folder-").FullName;
        try
        {
            var intoFolder = Assert.Throws<ArgumentException>(() => GradientHtmlReport.Write(folder, new[] { run }));
            Assert.Equal("path", intoFolder.ParamName);
            Assert.Contains($"'{folder}' is a folder", intoFolder.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder);
        }
    }

    [Fact]
    public void A_run_without_steps_says_so()
    {
        var html = GradientHtmlReport.Render(new[] { new GradientReportRun("idle", Array.Empty<GradientStepReport>()) });

        Assert.Contains("No steps were recorded for this run.", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_creates_the_folder_and_returns_the_full_path()
    {
        var folder = Path.Combine(Path.GetTempPath(), "gd-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            var path = GradientHtmlReport.Write(Path.Combine(folder, "nested", "report.html"), new[] { SyntheticRuns.Run("lstm", 2, 3) });

            Assert.True(Path.IsPathFullyQualified(path));
            Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(path), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    internal static JsonElement ReadData(string html)
    {
        var match = Regex.Match(html, "<script type=\"application/json\" id=\"report-data\">(.*?)</script>", RegexOptions.Singleline);
        Assert.True(match.Success, "the report has no data block");
        return JsonDocument.Parse(match.Groups[1].Value).RootElement.Clone();
    }
}
