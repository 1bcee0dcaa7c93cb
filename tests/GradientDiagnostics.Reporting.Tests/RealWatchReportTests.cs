using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientDiagnostics.Reporting.Tests;

/// <summary>Reports built from a real GradientWatch on a real LSTM training loop.</summary>
public class RealWatchReportTests
{
    private sealed class TinyLstm : nn.Module<Tensor, Tensor>
    {
        private readonly LSTM lstm;
        private readonly Linear head;

        public TinyLstm() : base(nameof(TinyLstm))
        {
            lstm = nn.LSTM(2, 4, batchFirst: true);
            head = nn.Linear(4, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var (output, _, _) = lstm.call(input);
            return head.call(output.select(1, -1));
        }
    }

    [Fact]
    public void Heatmap_rows_are_the_watch_timestep_norms_of_each_step()
    {
        manual_seed(3);
        using var model = new TinyLstm();
        using var optimizer = optim.SGD(model.parameters(), 0.1);
        using var watch = GradientWatch.Attach(model);
        var reports = new List<GradientStepReport>();
        for (var step = 1; step <= 3; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(randn(5, 7, 2)), randn(5, 1));
            loss.backward();
            reports.Add(watch.Record(step));
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }

        var html = GradientHtmlReport.Render(new[] { new GradientReportRun("tiny", reports) { ClipThreshold = 1.0 } });
        var run = GradientHtmlReportTests.ReadData(html).GetProperty("runs")[0];

        var heatmap = run.GetProperty("heatmaps")[0];
        Assert.Equal("lstm", heatmap.GetProperty("module").GetString());
        Assert.Equal(7, heatmap.GetProperty("timesteps").GetInt32());
        for (var step = 0; step < 3; step++)
        {
            var expected = reports[step].Timesteps.Single().Norms.Select(n => Math.Round(Math.Log10(n), 3));
            Assert.Equal(expected, heatmap.GetProperty("log10")[step].EnumerateArray().Select(v => v.GetDouble()));
        }

        var parameterNames = run.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).Order();
        Assert.Equal(reports[0].ParameterNorms.Keys.Order(), parameterNames);
        Assert.Equal(reports.Select(r => r.GlobalNorm), run.GetProperty("globalNorms").EnumerateArray().Select(v => v.GetDouble()));
    }
}
