namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// The training code of the users' projects in <see cref="UserWorkspace"/>: an LSTM model of their own, trained on a
/// toy task with a watch attached, printing every per-timestep profile the watch reports.
/// </summary>
internal static class UserPrograms
{
    public const int Steps = 4;
    public const int SequenceLength = 20;

    /// <summary>The user's model: an LSTM over a sequence of scalars, and a linear head on its last output.</summary>
    public const string SequenceSumModel = """
        public sealed class SequenceSum : nn.Module<Tensor, Tensor>
        {
            private readonly LSTM lstm;
            private readonly Linear head;

            public SequenceSum(int hidden) : base(nameof(SequenceSum))
            {
                lstm = nn.LSTM(1, hidden, batchFirst: true);
                head = nn.Linear(hidden, 1);
                RegisterComponents();
            }

            public override Tensor forward(Tensor input)
            {
                var (output, _, _) = lstm.call(input);
                return head.call(output[.., -1]);
            }
        }
        """;

    /// <summary>A model class and a training loop, as a user writes them (public so a class library can hold them).</summary>
    public const string Training = $$"""
        using System.Globalization;
        using GradientDiagnostics;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace UserCode;

        {{SequenceSumModel}}

        public static class Training
        {
            public static void Run(int steps, int sequenceLength)
            {
                manual_seed(7);
                using var model = new SequenceSum(hidden: 16);
                var optimizer = optim.Adam(model.parameters(), 1e-2);
                using var watch = GradientWatch.Attach(model, new GradientWatchOptions { ModelName = "sequence-sum" });
                for (var step = 1; step <= steps; step++)
                {
                    using var scope = NewDisposeScope();
                    var inputs = rand(8, sequenceLength, 1);
                    var targets = inputs.sum(1);
                    optimizer.zero_grad();
                    var loss = nn.functional.mse_loss(model.call(inputs), targets);
                    loss.backward();
                    var report = watch.Record(step);
                    nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                    optimizer.step();
                    foreach (var profile in report.Timesteps)
                    {
                        var norms = string.Join(' ', profile.Norms.Select(n => n.ToString("G4", CultureInfo.InvariantCulture)));
                        Console.WriteLine($"step {step} profile {profile.Module}: {norms}");
                    }

                    if (report.Unprofiled.Count > 0)
                    {
                        Console.WriteLine($"step {step} unprofiled: {string.Join(", ", report.Unprofiled)}");
                    }
                }
            }
        }
        """;

    /// <summary>The LSTM invocation of <see cref="Training"/>, which TorchSharp runs with the module's hooks.</summary>
    public const string LstmCall = "lstm.call(input)";

    /// <summary>The LSTM invocation of <see cref="ForwardTraining"/>, which bypasses the hooks, as much public TorchSharp code does.</summary>
    public const string LstmForward = "lstm.forward(input)";

    /// <summary><see cref="Training"/> with the model invoking its LSTM through <c>forward</c> instead of <c>call</c>.</summary>
    public static readonly string ForwardTraining = Training.Contains(LstmCall, StringComparison.Ordinal)
        ? Training.Replace(LstmCall, LstmForward, StringComparison.Ordinal)
        : throw new InvalidOperationException($"The training code no longer says {LstmCall}");

    public static readonly string Main = $"UserCode.Training.Run({Steps}, {SequenceLength});\n";

    /// <summary>The documented check first: TorchSharp's native library loads, or the program stops with the cause.</summary>
    public static readonly string CheckedMain = $"GradientDiagnostics.TorchSharpNative.EnsureLoaded();\nUserCode.Training.Run({Steps}, {SequenceLength});\n";

    /// <summary>The same training with the OpenTelemetry SDK subscribed through AddGradientDiagnostics, exporting in memory.</summary>
    public static readonly string SdkMain = $$"""
        using System.Diagnostics;
        using System.Reflection;
        using OpenTelemetry;
        using OpenTelemetry.Metrics;
        using OpenTelemetry.Trace;

        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        using (var meters = Sdk.CreateMeterProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(metrics).Build())
        using (var traces = Sdk.CreateTracerProviderBuilder().AddGradientDiagnostics().AddInMemoryExporter(spans).Build())
        {
            UserCode.Training.Run({{Steps}}, {{SequenceLength}});
            meters.ForceFlush();
            traces.ForceFlush();
        }

        Console.WriteLine("sdk " + typeof(Sdk).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);
        foreach (var metric in metrics.Select(m => $"metric {m.Name} unit={m.Unit}").Distinct())
        {
            Console.WriteLine(metric);
        }

        Console.WriteLine($"spans {spans.Count(s => s.DisplayName == "gradient.record")} gradient.record");
        """;
}
