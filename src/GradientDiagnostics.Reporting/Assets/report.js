// Draws every chart of a GradientDiagnostics report from the JSON block #report-data with the inlined plotly.js.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var config = { responsive: true, displaylogo: false };

  function tickLabel(exponent) {
    return "1e" + exponent;
  }

  // The range of log10 values in a set of heatmap rows, at least one decade wide.
  function rangeOf(heatmaps, key) {
    var low = Infinity, high = -Infinity;
    heatmaps.forEach(function (heatmap) {
      heatmap[key].forEach(function (row) {
        row.forEach(function (v) {
          if (v !== null) { low = Math.min(low, v); high = Math.max(high, v); }
        });
      });
    });
    if (!isFinite(low)) { low = -1; high = 0; }
    if (high - low < 1) { high = low + 1; }
    // At most about eight labelled decades, so the colour bar stays readable over twenty orders of magnitude.
    var step = Math.max(1, Math.ceil((Math.floor(high) - Math.ceil(low)) / 8));
    var tickvals = [], ticktext = [];
    for (var e = Math.ceil(low); e <= Math.floor(high); e += step) { tickvals.push(e); ticktext.push(tickLabel(e)); }
    return { low: low, high: high, tickvals: tickvals, ticktext: ticktext };
  }

  // The comparison shares one scale relative to each sequence's end; each run's own heatmaps share the run's absolute scale.
  var comparisonRange = rangeOf(data.runs.filter(function (run) { return run.heatmaps.length > 0; })
    .map(function (run) { return run.heatmaps[0]; }), "relative");

  function drawHeatmap(container, run, heatmap, id, compact, range) {
    var key = compact ? "relative" : "log10";
    var div = document.createElement("div");
    div.className = compact ? "heatmap compact" : "heatmap";
    div.id = id;
    container.appendChild(div);

    var norms = heatmap[key].map(function (row) {
      return row.map(function (v) { return v === null ? "none" : Math.pow(10, v).toExponential(2); });
    });
    var timesteps = [];
    for (var t = 0; t < heatmap.timesteps; t++) { timesteps.push(t); }

    var title = compact ? run.name + " (" + heatmap.module + ")" : run.name + " — " + heatmap.module + ": gradient norm per timestep (log scale)";
    if (!compact && heatmap.steps.length < heatmap.totalSteps) {
      title += " — " + heatmap.steps.length + " of " + heatmap.totalSteps + " steps";
    }
    Plotly.newPlot(div, [{
      type: "heatmap",
      x: timesteps,
      y: heatmap.steps,
      z: heatmap[key],
      customdata: norms,
      zmin: range.low,
      zmax: range.high,
      colorscale: "Viridis",
      colorbar: { title: { text: compact ? "‖dL/dx_t‖ / end" : "‖dL/dx_t‖" }, tickvals: range.tickvals, ticktext: range.ticktext },
      hovertemplate: "step %{y}<br>timestep %{x}<br>" + (compact ? "relative to the end " : "norm ") + "%{customdata}<extra></extra>"
    }], {
      title: { text: title },
      xaxis: { title: { text: "timestep t (input order)" } },
      yaxis: { title: { text: "training step" } },
      margin: { t: 50 }
    }, config);
  }

  function drawGlobal(run) {
    var traces = [{
      type: "scatter", mode: "lines", name: "global norm",
      x: run.steps, y: run.globalNorms, connectgaps: false,
      hovertemplate: "step %{x}<br>global norm %{y:.3e}<extra></extra>"
    }];
    if (run.clipThreshold !== null) {
      traces.push({
        type: "scatter", mode: "lines", name: "clip threshold " + run.clipThreshold,
        x: [run.steps[0], run.steps[run.steps.length - 1]], y: [run.clipThreshold, run.clipThreshold],
        line: { dash: "dash", color: "#b42318" }, hoverinfo: "name"
      });
    }
    if (run.anomalies.steps.length > 0) {
      traces.push({
        type: "scatter", mode: "markers", name: "anomaly",
        x: run.anomalies.steps, y: run.anomalies.globalNorms, text: run.anomalies.labels,
        marker: { symbol: "x", size: 8, color: "#b42318" },
        hovertemplate: "step %{x}<br>%{text}<extra></extra>"
      });
    }
    Plotly.newPlot(run.id + "-global", traces, {
      title: { text: run.name + " — global gradient norm" + (run.clipThreshold === null ? " (not clipped)" : " before clipping") },
      xaxis: { title: { text: "training step" } },
      yaxis: { title: { text: "L2 norm" }, type: "log" },
      margin: { t: 50 }
    }, config);
  }

  function drawHorizon(run) {
    var horizon = run.horizon;
    var traces = [{
      type: "scatter", mode: "lines", name: "memory horizon",
      x: run.steps, y: horizon.values, customdata: horizon.gains, connectgaps: false,
      hovertemplate: "step %{x}<br>reaches %{y} of " + horizon.sequenceLength + " timesteps back<br>per-step gain %{customdata:.3f}<extra></extra>"
    }, {
      type: "scatter", mode: "lines", name: "sequence length " + horizon.sequenceLength,
      x: [run.steps[0], run.steps[run.steps.length - 1]], y: [horizon.sequenceLength, horizon.sequenceLength],
      line: { dash: "dash", color: "#59636e" }, hoverinfo: "name"
    }];
    Plotly.newPlot(run.id + "-horizon", traces, {
      title: { text: run.name + " — memory horizon of " + horizon.module + ": how many timesteps back the gradient still arrives" },
      xaxis: { title: { text: "training step" } },
      yaxis: { title: { text: "timesteps" }, rangemode: "tozero" },
      margin: { t: 50 }
    }, config);
  }

  function drawLoss(run) {
    var positive = run.losses.values.filter(function (v) { return v !== null && v > 0; });
    var spansDecades = positive.length > 0 && Math.max.apply(null, positive) / Math.min.apply(null, positive) > 1000;
    Plotly.newPlot(run.id + "-loss", [{
      type: "scatter", mode: "lines", name: "loss", x: run.losses.steps, y: run.losses.values,
      hovertemplate: "step %{x}<br>loss %{y:.4f}<extra></extra>"
    }], {
      title: { text: run.name + " — training loss" },
      xaxis: { title: { text: "training step" } },
      yaxis: { title: { text: "loss" }, type: spansDecades ? "log" : "linear" },
      margin: { t: 50 }
    }, config);
  }

  function drawParameters(run) {
    var traces = run.parameters.map(function (p) {
      return {
        type: "scatter", mode: "lines", name: p.name, x: run.steps, y: p.norms,
        hovertemplate: p.name + "<br>step %{x}<br>norm %{y:.3e}<extra></extra>"
      };
    });
    var title = run.name + " — gradient norm per parameter";
    if (run.omittedParameters > 0) {
      title += " (" + run.omittedParameters + " smaller parameters not drawn)";
    }
    Plotly.newPlot(run.id + "-parameters", traces, {
      title: { text: title },
      xaxis: { title: { text: "training step" } },
      yaxis: { title: { text: "L2 norm" }, type: "log" },
      margin: { t: 50 }
    }, config);
  }

  var comparison = document.getElementById("comparison-heatmaps");
  if (comparison) {
    data.runs.forEach(function (run) {
      if (run.heatmaps.length > 0) { drawHeatmap(comparison, run, run.heatmaps[0], run.id + "-compare", true, comparisonRange); }
    });
  }

  data.runs.forEach(function (run) {
    var container = document.getElementById(run.id + "-heatmaps");
    if (!container) { return; }
    var range = rangeOf(run.heatmaps, "log10");
    run.heatmaps.forEach(function (heatmap, index) { drawHeatmap(container, run, heatmap, run.id + "-heatmap-" + index, false, range); });
    if (run.horizon !== null && document.getElementById(run.id + "-horizon")) { drawHorizon(run); }
    drawGlobal(run);
    if (run.losses !== null && document.getElementById(run.id + "-loss")) { drawLoss(run); }
    drawParameters(run);
  });
  document.body.setAttribute("data-charts-ready", "true");
})();
