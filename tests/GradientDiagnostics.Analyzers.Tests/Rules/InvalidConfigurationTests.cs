using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.InvalidConfigurationAnalyzer>;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

public class InvalidConfigurationTests
{
    private const string TrainingCode = """
        using TorchSharp;
        using static TorchSharp.torch;

        static class Trainer
        {
            public static void Train()
            {
                var lstm = nn.LSTM(2, 32);
                var optimizer = optim.Adam(lstm.parameters(), 1e-3);
                for (var step = 0; step < 10; step++)
                {
                    optimizer.zero_grad();
                    var (y, _, _) = lstm.call(rand(50, 8, 2));
                    y.sum().backward();
                    nn.utils.clip_grad_norm_(lstm.parameters(), 1.0);
                    optimizer.step();
                }
            }
        }
        """;

    private const string PositiveNumber = "expected a finite number greater than 0, such as {0}; the default {0} is used";

    [Theory]
    [InlineData("default_clip_norm", "abc", "1")]
    [InlineData("default_clip_norm", "0", "1")]
    [InlineData("default_clip_norm", "-0.5", "1")]
    [InlineData("default_clip_norm", "NaN", "1")]
    [InlineData("default_clip_norm", "Infinity", "1")]
    [InlineData("default_clip_norm", "1,5", "1")]
    [InlineData("max_clip_threshold", "ten", "100")]
    [InlineData("max_clip_threshold", "0", "100")]
    [InlineData("max_clip_threshold", "-100", "100")]
    [InlineData("max_clip_threshold", "nan", "100")]
    public async Task A_malformed_number_is_reported_naming_the_key_the_value_and_what_is_expected(string option, string value, string fallback)
    {
        await VerifyAsync(
            TrainingCode,
            $"gradient_diagnostics.{option} = {value}",
            Gd1000($"gradient_diagnostics.{option}", value, string.Format(PositiveNumber, fallback)));
    }

    [Theory]
    [InlineData("clipping_methods", "ClipAll")]
    [InlineData("clipping_methods", "MyCompany.Training.Clip(Tensor)")]
    [InlineData("detach_methods", "MyCompany.State.Detach All")]
    [InlineData("detach_methods", ".MyCompany.State.Detach")]
    [InlineData("init_methods", "MyCompany.Init.")]
    [InlineData("init_methods", "MyCompany::Init")]
    public async Task A_malformed_method_name_is_reported_naming_the_entry(string option, string pattern)
    {
        await VerifyAsync(
            TrainingCode,
            $"gradient_diagnostics.{option} = MyCompany.Tools.Good, {pattern}",
            Gd1000($"gradient_diagnostics.{option}", $"MyCompany.Tools.Good, {pattern}", MethodNameReason(pattern)));
    }

    [Fact]
    public async Task Two_bad_entries_in_one_value_are_one_diagnostic_listing_both()
    {
        await VerifyAsync(
            TrainingCode,
            "gradient_diagnostics.init_methods = Init, My Init.Run",
            Gd1000("gradient_diagnostics.init_methods", "Init, My Init.Run", MethodNameReason("Init") + "; " + MethodNameReason("My Init.Run")));
    }

    [Fact]
    public async Task A_clip_norm_above_the_ceiling_is_reported_because_the_fix_would_trip_GD0007()
    {
        await VerifyAsync(
            TrainingCode,
            "gradient_diagnostics.default_clip_norm = 5\ngradient_diagnostics.max_clip_threshold = 2",
            Gd1000(
                "gradient_diagnostics.default_clip_norm",
                "5",
                "it is above gradient_diagnostics.max_clip_threshold (2), so the GD0001 fix would write a threshold that GD0007 reports; 2 is used"));
    }

    [Fact]
    public async Task Valid_values_of_every_option_are_not_reported()
    {
        await VerifyAsync(
            TrainingCode,
            """
            gradient_diagnostics.default_clip_norm = 0.25
            gradient_diagnostics.max_clip_threshold = 1e3
            gradient_diagnostics.clipping_methods = MyCompany.Training.GradientTools.ClipAll, MyCompany.*.Clip*
            gradient_diagnostics.detach_methods = MyCompany.Training.StateExtensions.Truncate, *.DetachState
            gradient_diagnostics.init_methods = MyCompany.Models.Init.*, *
            gradient_diagnostics.unknown_option = whatever
            dotnet_diagnostic.GD0001.severity = error
            """);
    }

    [Fact]
    public async Task Empty_values_mean_the_default_and_are_not_reported()
    {
        await VerifyAsync(
            TrainingCode,
            "gradient_diagnostics.default_clip_norm =\ngradient_diagnostics.clipping_methods = ,\n");
    }

    [Fact]
    public async Task Nothing_is_reported_without_TorchSharp_where_no_rule_runs()
    {
        var test = new Microsoft.CodeAnalysis.CSharp.Testing.CSharpAnalyzerTest<InvalidConfigurationAnalyzer, DefaultVerifier>
        {
            TestCode = "class C { }",
            ReferenceAssemblies = GradientDiagnostics.Testing.TorchSharpReferences.Net80,
        };
        test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n[*]\ngradient_diagnostics.default_clip_norm = abc\n"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Each_bad_value_is_reported_once_on_the_first_file_it_applies_to_and_generated_files_come_last()
    {
        var test = NewTest();
        test.TestState.Sources.Add(("/0/Generated.g.cs", "// <auto-generated/>\nclass Generated { }\n"));
        test.TestState.Sources.Add(("/0/Model.cs", TrainingCode));
        test.TestState.Sources.Add(("/0/Trainer.cs", "class Trainer2 { }\n"));
        test.TestState.Sources.Add(("/0/Legacy/Old.cs", "class Old { }\n"));
        test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", """
            root = true
            [*.cs]
            gradient_diagnostics.default_clip_norm = -1
            [**/Legacy/*.cs]
            gradient_diagnostics.default_clip_norm = zero
            [Generated.g.cs]
            gradient_diagnostics.detach_methods = Detach
            """));
        test.ExpectedDiagnostics.Add(Gd1000("gradient_diagnostics.default_clip_norm", "-1", string.Format(PositiveNumber, "1"), "/0/Model.cs"));
        test.ExpectedDiagnostics.Add(Gd1000("gradient_diagnostics.default_clip_norm", "zero", string.Format(PositiveNumber, "1"), "/0/Legacy/Old.cs"));
        test.ExpectedDiagnostics.Add(Gd1000("gradient_diagnostics.detach_methods", "Detach", MethodNameReason("Detach"), "/0/Generated.g.cs"));
        await test.RunAsync();
    }

    [Fact]
    public async Task A_bad_value_in_a_global_config_is_reported_once()
    {
        var test = NewTest();
        test.TestState.Sources.Add(("/0/A.cs", TrainingCode));
        test.TestState.Sources.Add(("/0/B.cs", "class B { }\n"));
        test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", "is_global = true\ngradient_diagnostics.max_clip_threshold = 0\n"));
        test.ExpectedDiagnostics.Add(Gd1000("gradient_diagnostics.max_clip_threshold", "0", string.Format(PositiveNumber, "100"), "/0/A.cs"));
        await test.RunAsync();
    }

    private static string MethodNameReason(string entry) =>
        $"'{entry}' is not a fully-qualified method name such as MyCompany.Training.GradientTools.ClipAll (letters, digits, '_', '.' and the wildcard '*'); that entry is ignored";

    private static DiagnosticResult Gd1000(string key, string value, string reason, string path = "/0/Test0.cs") =>
        new DiagnosticResult(DiagnosticDescriptors.InvalidConfiguration).WithSpan(path, 1, 1, 1, 1).WithArguments(key, value, reason);

    /// <summary>
    /// GD1000 sits at the very start of a file, before any <c>#pragma</c> could precede it, so the harness's pragma
    /// check does not apply; users turn it off with <c>dotnet_diagnostic.GD1000.severity</c> like any config rule.
    /// </summary>
    private static Verify.Test NewTest()
    {
        var test = new Verify.Test { TestBehaviors = TestBehaviors.SkipSuppressionCheck };
        return test;
    }

    private static Task VerifyAsync(string source, string editorConfig, params DiagnosticResult[] expected)
    {
        var test = NewTest();
        test.TestCode = source;
        test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n[*]\n" + editorConfig));
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }
}
