using System.Collections.Immutable;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Tests.Rules;

/// <summary>The training-step rules run while the user is typing: half-written code must never make them throw (AD0001).</summary>
public class TrainingStepRulesRobustnessTests
{
    private static readonly ImmutableArray<DiagnosticAnalyzer> Analyzers =
    [
        new MissingGradientClippingAnalyzer(),
        new IneffectiveClipPlacementAnalyzer(),
        new InvalidClipThresholdAnalyzer(),
        new GradientsNeverClearedAnalyzer(),
        new RetainGraphInTrainingLoopAnalyzer(),
    ];

    public static TheoryData<string> HalfTypedCode() => new()
    {
        // optimizer.step( not closed, loop not closed
        """
        var model = new Seq2One(2, 8);
        var optimizer = optim.Adam(model.parameters());
        for (var i = 0; i < 10; i++)
        {
            optimizer.zero_grad();
            nn.functional.mse_loss(model.call(rand(2, 5, 2)), rand(2, 1)).backward(retain_graph: tr
            optimizer.step(
        """,
        // clip with missing arguments and an unknown optimizer
        """
        var model = new Seq2One(2, 8);
        var optimizer = optim.Adamm(model.parameters());
        while (true)
        {
            model.call(rand(2, 5, 2)).sum().backward();
            torch.nn.utils.clip_grad_norm_(, );
            optimizer.step();
        }
        """,
        // step on an undeclared optimizer, backward on an undeclared loss, misplaced clip with a non-constant bad threshold
        """
        foreach (var batch in batches)
        {
            torch.nn.utils.clip_grad_norm_(model.parameters(), double.NaN * limit);
            loss.backward(null, true);
            opt.step();
            do { nn.utils.clip_grad_value_(model.parameters(), -) } while (
        """,
        // optimizer assigned from itself, model assigned from a method group
        """
        optim.Optimizer optimizer = optimizer;
        var model = Train;
        for (;;)
        {
            model.call(x).backward();
            optimizer.step(() => { model.zero_grad(); return model.call(x).backward(); });
        }
        """,
    };

    [Theory]
    [MemberData(nameof(HalfTypedCode))]
    public async Task Half_typed_training_code_never_makes_a_rule_throw(string body)
    {
        var source = TrainingModels.Usings + "static class Trainer\n{\n    static void Train(Tensor x)\n    {\n" + body + "\n" + TrainingModels.Seq2One;
        var references = await TorchSharpReferences.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None);
        var compilation = CSharpCompilation.Create(
            "HalfTyped",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            references.Add(TorchSharpReferences.TorchSharp),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Contains(compilation.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);

        var exceptions = new List<Exception>();
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions([]),
            onAnalyzerException: (exception, _, _) => { lock (exceptions) { exceptions.Add(exception); } },
            concurrentAnalysis: false,
            logAnalyzerExecutionTime: false);
        var diagnostics = await compilation.WithAnalyzers(Analyzers, options).GetAnalyzerDiagnosticsAsync(CancellationToken.None);

        Assert.Empty(exceptions);
        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001");
    }
}
