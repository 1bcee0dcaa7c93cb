using System.Collections.Immutable;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>
/// Each option changes what the rule that reads it reports: the same code is analysed by every analyzer without the
/// option, with it (using wildcards, as users write them), and with a pattern that does not match.
/// </summary>
public class OptionTests
{
    private const string ClipperTraining = """
        namespace MyLab.Training
        {
            public interface IGradientClipper
            {
                void ClampGradients(nn.Module model);
            }

            static class Trainer
            {
                public static void Train(IGradientClipper clipper, IEnumerable<(Tensor X, Tensor Y)> batches)
                {
                    var model = new Seq2One(2, 64);
                    var optimizer = optim.Adam(model.parameters());
                    foreach (var (x, y) in batches)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(x), y);
                        loss.backward();
                        clipper.ClampGradients(model);
                        optimizer.step();
                    }
                }
            }
        }
        """;

    private const string TruncatorTraining = """
        namespace MyCompany.Training
        {
            public interface IStateTruncator
            {
                Tensor Truncate(Tensor state);
            }

            public static class Trainer
            {
                public static void Train(Tensor[] batches, Tensor[] targets, IStateTruncator truncator)
                {
                    var gru = nn.GRU(4, 32);
                    var head = nn.Linear(32, 1);
                    var optimizer = optim.Adam(gru.parameters().Concat(head.parameters()), 1e-3);
                    var hidden = zeros(1, 16, 32);
                    for (var b = 0; b < batches.Length; b++)
                    {
                        var (output, h) = gru.call(batches[b], hidden);
                        hidden = truncator.Truncate(h);
                        var loss = nn.functional.mse_loss(head.call(output[-1]), targets[b]);
                        optimizer.zero_grad();
                        loss.backward();
                        nn.utils.clip_grad_norm_(gru.parameters(), 1.0);
                        optimizer.step();
                    }
                }
            }
        }
        """;

    private const string InitializerModel = """
        namespace Training.Models
        {
            public interface IWeightInitializer
            {
                void InitRecurrent(nn.Module module);
            }

            sealed class Model : nn.Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.RNN rnn;

                public Model(IWeightInitializer initializer) : base("model")
                {
                    rnn = nn.RNN(3, 16);
                    RegisterComponents();
                    initializer.InitRecurrent(rnn);
                }

                public override Tensor forward(Tensor x) => rnn.call(x, null).Item1;
            }
        }
        """;

    private static string ClipThresholdTraining(string threshold) => $$"""
        static class Trainer
        {
            public static void Train(IEnumerable<(Tensor X, Tensor Y)> batches)
            {
                var model = new Seq2One(2, 64);
                var optimizer = optim.Adam(model.parameters());
                foreach (var (x, y) in batches)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    nn.utils.clip_grad_norm_(model.parameters(), {{threshold}});
                    optimizer.step();
                }
            }
        }
        """;

    [Fact]
    public async Task clipping_methods_makes_a_wildcard_matched_helper_count_as_clipping_for_GD0001()
    {
        Assert.Equal(1, await CountAsync(ClipperTraining, "GD0001"));
        Assert.Equal(0, await CountAsync(ClipperTraining, "GD0001", ("clipping_methods", "MyLab.*.IGradientClipper.Clamp*")));
        Assert.Equal(0, await CountAsync(ClipperTraining, "GD0001", ("clipping_methods", "*.ClampGradients")));
        Assert.Equal(1, await CountAsync(ClipperTraining, "GD0001", ("clipping_methods", "OtherLab.*.ClampGradients")));
    }

    [Fact]
    public async Task detach_methods_makes_a_wildcard_matched_helper_count_as_detach_for_GD0002()
    {
        Assert.Equal(1, await CountAsync(TruncatorTraining, "GD0002"));
        Assert.Equal(0, await CountAsync(TruncatorTraining, "GD0002", ("detach_methods", "*.IStateTruncator.Trunc*")));
        Assert.Equal(1, await CountAsync(TruncatorTraining, "GD0002", ("detach_methods", "*.IStateTruncator.Detach")));
    }

    [Fact]
    public async Task init_methods_makes_a_wildcard_matched_helper_count_as_initialisation_for_GD0003()
    {
        Assert.Equal(1, await CountAsync(InitializerModel, "GD0003"));
        Assert.Equal(0, await CountAsync(InitializerModel, "GD0003", ("init_methods", "Training.*.Init*")));
        Assert.Equal(1, await CountAsync(InitializerModel, "GD0003", ("init_methods", "Training.Data.*")));
    }

    [Fact]
    public async Task max_clip_threshold_moves_the_GD0007_ceiling_both_ways()
    {
        Assert.Equal(0, await CountAsync(ClipThresholdTraining("50.0"), "GD0007"));
        Assert.Equal(1, await CountAsync(ClipThresholdTraining("50.0"), "GD0007", ("max_clip_threshold", "10")));
        Assert.Equal(1, await CountAsync(ClipThresholdTraining("500.0"), "GD0007"));
        Assert.Equal(0, await CountAsync(ClipThresholdTraining("500.0"), "GD0007", ("max_clip_threshold", "1e3")));
    }

    [Fact]
    public async Task A_malformed_ceiling_falls_back_to_the_default_and_says_so()
    {
        var diagnostics = await AnalyzeAsync(ClipThresholdTraining("500.0"), ("max_clip_threshold", "1O00"));
        Assert.Single(diagnostics, d => d.Id == "GD0007");
        var configuration = Assert.Single(diagnostics, d => d.Id == "GD1000");
        Assert.Contains("'gradient_diagnostics.max_clip_threshold' has value '1O00'", configuration.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task default_clip_norm_is_the_max_norm_GD0001_hands_to_its_fix_clamped_to_the_ceiling()
    {
        var unclipped = ClipperTraining.Replace("clipper.ClampGradients(model);", string.Empty, StringComparison.Ordinal);
        Assert.Equal(["1.0"], await MaxNormsAsync(unclipped));
        Assert.Equal(["0.25"], await MaxNormsAsync(unclipped, ("default_clip_norm", "0.25")));
        Assert.Equal(["0.5"], await MaxNormsAsync(unclipped, ("max_clip_threshold", "0.5")));
        Assert.Equal(["1.0"], await MaxNormsAsync(unclipped, ("default_clip_norm", "-2")));
    }

    private static async Task<string[]> MaxNormsAsync(string code, params (string Option, string Value)[] options) =>
        (await AnalyzeAsync(code, options))
            .Where(d => d.Id == "GD0001")
            .Select(d => d.Properties[DiagnosticProperties.MaxNorm] ?? "(none)")
            .ToArray();

    private static async Task<int> CountAsync(string code, string id, params (string Option, string Value)[] options) =>
        (await AnalyzeAsync(code, options)).Count(d => d.Id == id);

    private static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(string code, params (string Option, string Value)[] options)
    {
        var source = TrainingModels.Usings + code + TrainingModels.Seq2One;
        var compilation = TrainingCodebase.Compile("Options", TrainingCodebase.Parse([("Training.cs", source)]));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));

        var result = await AnalyzerRunner.RunAsync(compilation, AnalyzerCatalog.CreateAnalyzers(), Provider(options));
        Assert.Empty(result.Failures);
        return result.Diagnostics;
    }

    private static AnalyzerConfigOptionsProvider Provider((string Option, string Value)[] options) =>
        new AnalyzerRunner.UniformOptionsProvider(options.ToDictionary(o => GradientDiagnosticsOptions.Prefix + o.Option, o => o.Value));
}
