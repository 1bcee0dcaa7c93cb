using System.Globalization;
using System.Text;
using static GradientDiagnostics.Reporting.GradientHtmlReport;

namespace GradientDiagnostics.Reporting;

/// <summary>
/// One run's section of the report: its headline (how far back the gradient reaches, and how it changes per step),
/// the containers report.js draws the charts into, what the watch could not profile, and the anomalies with their remedies.
/// </summary>
internal static class RunSection
{
    public static void Append(StringBuilder html, string id, GradientReportRun run, GradientRunSummary summary, GradientReportOptions options)
    {
        html.Append("<section class=\"run\" id=\"").Append(id).Append("\">\n<h2>").Append(Encode(run.Name)).Append("</h2>\n");
        if (summary.MemoryHorizon is { } horizon)
        {
            AppendHeadline(html, id, horizon);
        }

        if (!string.IsNullOrWhiteSpace(run.Description))
        {
            html.Append("<p>").Append(Encode(run.Description)).Append("</p>\n");
        }

        if (run.Findings.Count > 0)
        {
            html.Append("<ul class=\"findings\">\n");
            foreach (var finding in run.Findings)
            {
                html.Append("<li>").Append(LinkRuleIds(finding, options)).Append("</li>\n");
            }

            html.Append("</ul>\n");
        }

        if (run.Steps.Count == 0)
        {
            html.Append("<p class=\"empty\">No steps were recorded for this run.</p>\n</section>\n");
            return;
        }

        AppendUnprofiled(html, id, summary, options);

        // The charts are drawn by report.js into these containers from the JSON data block.
        html.Append("<div class=\"heatmaps\" id=\"").Append(id).Append("-heatmaps\"></div>\n");
        if (summary.MemoryHorizon is not null)
        {
            html.Append("<div class=\"chart\" id=\"").Append(id).Append("-horizon\"></div>\n");
        }

        html.Append("<div class=\"chart\" id=\"").Append(id).Append("-global\"></div>\n");
        if (run.Losses is { Count: > 0 })
        {
            html.Append("<div class=\"chart\" id=\"").Append(id).Append("-loss\"></div>\n");
        }

        html.Append("<div class=\"chart\" id=\"").Append(id).Append("-parameters\"></div>\n");
        AppendAnomalies(html, id, run, summary, options);
        html.Append("</section>\n");
    }

    /// <summary>"Gradient reaches 4 of 50 timesteps back" and the per-step gain that explains it.</summary>
    private static void AppendHeadline(StringBuilder html, string id, MemoryHorizonSummary horizon)
    {
        html.Append("<p class=\"headline\" id=\"").Append(id).Append("-headline\">Gradient reaches <strong>")
            .Append(Encode(horizon.Reach)).Append("</strong> timesteps back");
        if (horizon.PerStepGain is { } gain)
        {
            var direction = gain < 1 ? "below 1: it shrinks at every step back in time, so it vanishes"
                : gain > 1 ? "above 1: it grows at every step back in time, so it explodes"
                : "exactly 1: it keeps its size";
            html.Append("; per-step gain <strong>").Append(Format(gain)).Append("</strong> (").Append(direction).Append(')');
        }

        html.Append(". <span class=\"meta\">Median over the last ")
            .Append(horizon.Steps.ToString(CultureInfo.InvariantCulture)).Append(horizon.Steps == 1 ? " step" : " steps")
            .Append(" of ").Append(Encode(horizon.Module)).Append(".</span></p>\n");
    }

    private static void AppendUnprofiled(StringBuilder html, string id, GradientRunSummary summary, GradientReportOptions options)
    {
        if (summary.Unprofiled.Count == 0)
        {
            return;
        }

        html.Append("<div class=\"unprofiled\" id=\"").Append(id).Append("-unprofiled\">\n<h3>Not profiled</h3>\n<ul>\n");
        foreach (var (module, steps) in summary.Unprofiled)
        {
            html.Append("<li><code>").Append(Encode(module)).Append("</code> received gradients but produced no timestep profile in ")
                .Append(steps.ToString(CultureInfo.InvariantCulture)).Append(" of ").Append(summary.Steps.ToString(CultureInfo.InvariantCulture))
                .Append(" steps.</li>\n");
        }

        html.Append("</ul>\n<p>Module hooks run only through <code>call(Tensor, …)</code>: a module invoked with <code>forward(…)</code>, ")
            .Append("or given a <code>PackedSequence</code>, is invisible to them. Invoke it with <code>call(…)</code>; for packed input, ")
            .Append("pass it through <code>GradientWatch.TrackInput(packed, name)</code> and give the module what that returns. ")
            .Append("The watch's log names the reason for each module (<a href=\"").Append(Encode(options.RuntimeLink("coverage-what-the-watch-cannot-see")))
            .Append("\">what the watch cannot see</a>).</p>\n</div>\n");
    }

    private static void AppendAnomalies(StringBuilder html, string id, GradientReportRun run, GradientRunSummary summary, GradientReportOptions options)
    {
        html.Append("<h3>Anomalies</h3>\n");
        if (summary.TotalAnomalies == 0)
        {
            html.Append("<p class=\"good\" id=\"").Append(id).Append("-anomalies\">No anomalies: gradients stayed finite and within bounds at every recorded step.</p>\n");
            return;
        }

        html.Append("<p>Each remedy names the analyzer rule that prevents it; <a class=\"remedies\" href=\"")
            .Append(Encode(options.RuntimeLink("remedies"))).Append("\">every remedy the literature offers</a> for each anomaly, ")
            .Append("including those no rule enforces, is in the runtime documentation.</p>\n");
        html.Append("<table class=\"anomalies\" id=\"").Append(id).Append("-anomalies\">\n<thead><tr><th>step</th><th>kind</th><th>what</th><th>remedy</th></tr></thead>\n<tbody>\n");
        var listed = 0;
        foreach (var step in run.Steps)
        {
            foreach (var anomaly in step.Anomalies)
            {
                if (listed == options.MaxAnomalyRows)
                {
                    break;
                }

                listed++;
                html.Append("<tr class=\"").Append(KindName(anomaly.Kind)).Append("\"><td>").Append(step.Step.ToString(CultureInfo.InvariantCulture))
                    .Append("</td><td>").Append(KindName(anomaly.Kind))
                    .Append("</td><td>").Append(Encode(anomaly.Message))
                    .Append("</td><td>").Append(anomaly.Remedy is null ? "" : LinkRules(anomaly.Remedy, anomaly.Rules, options))
                    .Append("</td></tr>\n");
            }
        }

        html.Append("</tbody>\n</table>\n");
        if (summary.TotalAnomalies > listed)
        {
            html.Append("<p class=\"more\">").Append((summary.TotalAnomalies - listed).ToString(CultureInfo.InvariantCulture))
                .Append(" more anomalies not listed (the first ").Append(listed.ToString(CultureInfo.InvariantCulture)).Append(" are shown).</p>\n");
        }
    }
}
