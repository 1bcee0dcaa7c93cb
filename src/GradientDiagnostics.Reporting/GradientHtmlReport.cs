using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace GradientDiagnostics.Reporting;

/// <summary>
/// Writes a self-contained, interactive HTML report of one or more training runs: per recurrent module a
/// heatmap of the per-timestep gradient norm (training step × timestep, log colour scale), the global norm
/// with the clip threshold, per-parameter norms, and the anomalies linked to the analyzer rule that prevents
/// them. plotly.js is inlined, so the file opens offline and sends no request anywhere.
/// </summary>
public static partial class GradientHtmlReport
{
    /// <summary>Version of the inlined plotly.js (npm <c>plotly.js-dist-min</c>).</summary>
    public const string PlotlyVersion = "4.1.2";

    private static readonly Lazy<string> PlotlyScript = new(() => ReadResource("plotly.min.js"));
    private static readonly Lazy<string> PlotlyLicense = new(() => ReadResource("plotly.LICENSE"));
    private static readonly Lazy<string> ReportScript = new(() => ReadResource("report.js"));
    private static readonly Lazy<string> ReportStyle = new(() => ReadResource("report.css"));

    /// <summary>Writes the report to <paramref name="path"/>, creating its folder; returns the full path.</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a folder, or <see cref="Render"/> refuses the runs.</exception>
    public static string Write(string path, IReadOnlyList<GradientReportRun> runs, GradientReportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
        {
            throw new ArgumentException($"The report path '{fullPath}' is a folder; give the path of the HTML file to write, such as '{Path.Combine(fullPath, "gradient-report.html")}'.", nameof(path));
        }

        var html = Render(runs, options);
        var folder = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        File.WriteAllText(fullPath, html, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return fullPath;
    }

    /// <summary>The report as one HTML document.</summary>
    public static string Render(IReadOnlyList<GradientReportRun> runs, GradientReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        options ??= new GradientReportOptions();
        options.Validate();
        if (runs.Count == 0)
        {
            throw new ArgumentException("A report needs at least one run.", nameof(runs));
        }

        for (var i = 0; i < runs.Count; i++)
        {
            if (runs[i] is null)
            {
                throw new ArgumentException($"Run {i} is null.", nameof(runs));
            }
        }

        var duplicate = runs.GroupBy(r => r.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Run names must be unique; '{duplicate.Key}' appears {duplicate.Count()} times.", nameof(runs));
        }

        var summaries = runs.Select(GradientRunSummary.From).ToArray();
        var html = new StringBuilder(PlotlyScript.Value.Length + 64 * 1024);
        var generatedAt = options.GeneratedAt ?? DateTimeOffset.UtcNow;

        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<meta name=\"generator\" content=\"GradientDiagnostics.Reporting\">\n")
            .Append("<title>").Append(Encode(options.Title)).Append("</title>\n")
            .Append("<style>\n").Append(ReportStyle.Value).Append("</style>\n</head>\n<body>\n");

        html.Append("<header>\n<h1>").Append(Encode(options.Title)).Append("</h1>\n<p class=\"meta\">Generated ")
            .Append(Encode(generatedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'zzz", CultureInfo.InvariantCulture)))
            .Append(" by GradientDiagnostics. Heatmaps show log<sub>10</sub> of the gradient norm reaching each timestep (dL/dx<sub>t</sub>); ")
            .Append("rows darkening to the left mean the gradient vanishes before it reaches early timesteps, brightening to the left that it explodes.</p>\n</header>\n");

        AppendSummaryTable(html, summaries);
        if (runs.Any(r => r.Steps.Any(s => s.Timesteps.Count > 0)))
        {
            html.Append("<section id=\"comparison\">\n<h2>Gradient reaching each timestep</h2>\n")
                .Append("<p>The first recurrent module of every run, on one colour scale, relative to the gradient at the end of the sequence ")
                .Append("(the mean over its last tenth). Training goes up, the sequence goes right: the end is where the loss reads the model, ")
                .Append("and the colour shows how much of that gradient is left by the time it reaches each earlier input. Where it falls below ")
                .Append("10<sup>&minus;3</sup> the memory horizon ends; above 10<sup>0</sup> it grows on its way back.</p>\n")
                .Append("<div class=\"comparison\" id=\"comparison-heatmaps\"></div>\n</section>\n");
        }

        for (var i = 0; i < runs.Count; i++)
        {
            RunSection.Append(html, RunId(i), runs[i], summaries[i], options);
        }

        html.Append("<footer><p>Charts drawn with plotly.js ").Append(PlotlyVersion)
            .Append(", inlined under its MIT licence:</p><pre class=\"license\">").Append(Encode(PlotlyLicense.Value)).Append("</pre></footer>\n");

        html.Append("<script type=\"application/json\" id=\"report-data\">")
            .Append(ReportData.Build(runs, options))
            .Append("</script>\n");
        AppendScript(html, PlotlyScript.Value, "plotly.js");
        AppendScript(html, ReportScript.Value, "report.js");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    internal static string RunId(int index) => "run-" + index.ToString(CultureInfo.InvariantCulture);

    private static void AppendSummaryTable(StringBuilder html, GradientRunSummary[] summaries)
    {
        var anyUnprofiled = summaries.Any(s => s.Unprofiled.Count > 0);
        html.Append("<section id=\"summary\">\n<h2>Summary</h2>\n<table class=\"summary\">\n<thead><tr>")
            .Append("<th>run</th><th>steps</th><th>final loss</th><th>median global norm</th><th>max global norm</th>")
            .Append("<th>clip threshold</th><th>steps clipped</th><th>gradient at t=0 / at t=T&minus;1</th>")
            .Append("<th>memory horizon</th><th>per-step gain</th>")
            .Append("<th>non-finite</th><th>exploding</th><th>vanishing</th>")
            .Append(anyUnprofiled ? "<th>not profiled</th>" : "").Append("</tr></thead>\n<tbody>\n");
        for (var i = 0; i < summaries.Length; i++)
        {
            var s = summaries[i];
            html.Append("<tr><td><a href=\"#").Append(RunId(i)).Append("\">").Append(Encode(s.Name)).Append("</a></td>")
                .Append("<td>").Append(s.Steps.ToString(CultureInfo.InvariantCulture)).Append("</td>")
                .Append("<td>").Append(Format(s.FinalLoss, s.FinalLoss < 1000 ? "F4" : "G3")).Append("</td>")
                .Append("<td>").Append(Format(s.MedianGlobalNorm)).Append("</td>")
                .Append("<td>").Append(Format(s.MaxGlobalNorm)).Append("</td>")
                .Append("<td>").Append(s.ClipThreshold is null ? "none" : Format(s.ClipThreshold)).Append("</td>")
                .Append("<td>").Append(s.ClipThreshold is null ? "&mdash;" : s.StepsAboveClipThreshold.ToString(CultureInfo.InvariantCulture)).Append("</td>")
                .Append("<td>").Append(Format(s.FirstToLastTimestepRatio)).Append("</td>")
                .Append("<td>").Append(s.MemoryHorizon is { } horizon ? Encode(horizon.Reach) : "&mdash;").Append("</td>")
                .Append("<td>").Append(Format(s.MemoryHorizon?.PerStepGain)).Append("</td>");
            foreach (var kind in new[] { GradientAnomalyKind.NonFinite, GradientAnomalyKind.Exploding, GradientAnomalyKind.Vanishing })
            {
                var count = s.Anomalies[kind];
                html.Append(count > 0 ? "<td class=\"bad\">" : "<td>").Append(count.ToString(CultureInfo.InvariantCulture)).Append("</td>");
            }

            if (anyUnprofiled)
            {
                html.Append(s.Unprofiled.Count > 0 ? "<td class=\"bad\">" : "<td>")
                    .Append(s.Unprofiled.Count > 0 ? Encode(string.Join(", ", s.Unprofiled.Keys)) : "&mdash;").Append("</td>");
            }

            html.Append("</tr>\n");
        }

        html.Append("</tbody>\n</table>\n</section>\n");
    }

    internal static string KindName(GradientAnomalyKind kind) => kind switch
    {
        GradientAnomalyKind.NonFinite => "nonfinite",
        GradientAnomalyKind.Exploding => "exploding",
        GradientAnomalyKind.Vanishing => "vanishing",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// HTML-encodes <paramref name="text"/> (a line the caller wrote, e.g. a run's analyzer finding) and turns every rule id
    /// in it into a link to the rule's page. Anomalies carry their rules structured and use <see cref="LinkRules"/>.
    /// </summary>
    internal static string LinkRuleIds(string text, GradientReportOptions options)
    {
        var encoded = Encode(text);
        return RuleId().Replace(encoded, match => RuleLink(match.Value, options));
    }

    /// <summary>
    /// HTML-encodes <paramref name="text"/> and links the rules listed in <paramref name="rules"/>: where the text names a
    /// rule, that mention becomes the link; a rule the text does not name is appended as a link.
    /// </summary>
    internal static string LinkRules(string text, IReadOnlyList<string> rules, GradientReportOptions options)
    {
        var linked = new StringBuilder(Encode(text));
        var appended = new List<string>();
        foreach (var rule in rules.Distinct(StringComparer.Ordinal))
        {
            var link = RuleLink(rule, options);
            var mentioned = linked.ToString().Contains(Encode(rule), StringComparison.Ordinal);
            if (mentioned)
            {
                linked.Replace(Encode(rule), link);
            }
            else
            {
                appended.Add(link);
            }
        }

        return appended.Count == 0 ? linked.ToString() : linked.Append(" (").AppendJoin(", ", appended).Append(')').ToString();
    }

    private static string RuleLink(string rule, GradientReportOptions options) =>
        "<a class=\"rule\" href=\"" + Encode(options.RuleLink(rule)) + "\">" + Encode(rule) + "</a>";

    [GeneratedRegex(@"\bGD\d{4}\b", RegexOptions.CultureInvariant)]
    private static partial Regex RuleId();

    private static void AppendScript(StringBuilder html, string script, string name)
    {
        // A literal "</script" would end the element early; none of our inlined scripts may contain one.
        if (script.Contains("</script", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"The embedded {name} contains '</script' and cannot be inlined.");
        }

        html.Append("<script>\n").Append(script).Append("\n</script>\n");
    }

    internal static string Encode(string text) => WebUtility.HtmlEncode(text);

    internal static string Format(double? value, string format = "G3") => value switch
    {
        null => "&mdash;",
        { } v when double.IsNaN(v) => "NaN",
        { } v when double.IsPositiveInfinity(v) => "&infin;",
        { } v => Encode(v.ToString(format, CultureInfo.InvariantCulture)),
    };

    private static string ReadResource(string name)
    {
        var assembly = typeof(GradientHtmlReport).Assembly;
        using var stream = assembly.GetManifestResourceStream("GradientDiagnostics.Reporting." + name)
            ?? throw new InvalidOperationException($"Resource '{name}' is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
