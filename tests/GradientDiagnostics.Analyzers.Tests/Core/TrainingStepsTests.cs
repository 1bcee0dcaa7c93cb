using System.Collections.Immutable;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.Tests.Core.TrainingStepsTests.TrainingStepProbe>;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>The shared training-step model: which step() calls form a step, how backward() reaches them, and whether the model is recurrent.</summary>
public class TrainingStepsTests
{
    private static DiagnosticResult Step(int location, StepPathKind kind, bool inLoop, bool recurrent) =>
        new DiagnosticResult(TrainingStepProbe.Step).WithLocation(location).WithArguments(kind.ToString(), inLoop ? "loop" : "no loop", recurrent ? "recurrent" : "not recurrent");

    [Fact]
    public async Task Recognises_straight_around_the_loop_closure_and_per_batch_steps()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            sealed class Trainer
            {
                private readonly Seq2One model = new(2, 8);
                private readonly optim.Optimizer optimizer;

                public Trainer() => optimizer = optim.Adam(model.parameters());

                public void TrainBatch(Tensor x, Tensor y)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    {|#0:optimizer.step()|};
                }

                public void StepFirst(Mlp mlp)
                {
                    var sgd = optim.SGD(mlp.parameters(), 0.1);
                    for (var i = 0; i < 10; i++)
                    {
                        if (i > 0)
                        {
                            {|#1:sgd.step()|};
                        }

                        sgd.zero_grad();
                        mlp.call(randn(2, 10)).sum().backward();
                    }
                }

                public void Lbfgs(Tensor x)
                {
                    var lbfgs = optim.LBFGS(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        {|#2:lbfgs.step(() =>
                        {
                            lbfgs.zero_grad();
                            var loss = model.call(x).sum();
                            loss.backward();
                            return loss;
                        })|};
                    }
                }

                public void Accumulate(IEnumerable<IReadOnlyList<Tensor>> batches)
                {
                    foreach (var microBatches in batches)
                    {
                        optimizer.zero_grad();
                        foreach (var micro in microBatches)
                        {
                            model.call(micro).sum().backward();
                        }

                        {|#3:optimizer.step()|};
                    }
                }
            }
            """ + TrainingModels.Seq2One + TrainingModels.Mlp,
            Step(0, StepPathKind.Straight, inLoop: false, recurrent: true),
            Step(1, StepPathKind.AroundLoop, inLoop: true, recurrent: false),
            Step(2, StepPathKind.Closure, inLoop: true, recurrent: true),
            Step(3, StepPathKind.Straight, inLoop: true, recurrent: true));
    }

    [Fact]
    public async Task A_later_loop_does_not_pair_with_the_backward_of_an_earlier_loop_that_steps_itself()
    {
        await Verify.VerifyAsync(
            TrainingModels.Usings + """
            static class Trainer
            {
                public static void Train(Seq2One model, Mlp head)
                {
                    var first = optim.Adam(model.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        first.zero_grad();
                        model.call(rand(2, 5, 2)).sum().backward();
                        {|#0:first.step()|};
                    }

                    var second = optim.Adam(head.parameters());
                    for (var i = 0; i < 10; i++)
                    {
                        {|#1:second.step()|};
                    }
                }
            }
            """ + TrainingModels.Seq2One + TrainingModels.Mlp,
            Step(0, StepPathKind.Straight, inLoop: true, recurrent: true));
    }

    /// <summary>A test-only analyzer that reports every training step the model finds.</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class TrainingStepProbe : GradientDiagnosticsAnalyzer
    {
        public static readonly DiagnosticDescriptor Step = new("PROBE10", "step", "{0} {1} {2}", "Test", DiagnosticSeverity.Warning, true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => [Step];

        private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
            RegisterTrainingMethodAction(context, program, (block, method) =>
            {
                foreach (var step in method.Steps)
                {
                    block.ReportDiagnostic(Diagnostic.Create(
                        Step,
                        step.StepCall.Syntax.GetLocation(),
                        step.Kind.ToString(),
                        step.Loop is null ? "no loop" : "loop",
                        program.Models.IsRecurrent(step, block.CancellationToken) ? "recurrent" : "not recurrent"));
                }
            });
    }
}
