using System.Collections.Immutable;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Testing;
using StepVerify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.Tests.Core.TrainingProgramSurfaceTests.StepClipProbe>;
using InvocationVerify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.Tests.Core.TrainingProgramSurfaceTests.RecurrentInvocationProbe>;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>
/// What the compilation model offers rules beyond today's: each training step's clipping calls with their threshold
/// operations and the type of the model it trains (calibration checks), the invocations of recurrent modules, and whether
/// the compilation references an assembly (runtime-watch checks). docs/analyzer-architecture.md lists the surface.
/// </summary>
public class TrainingProgramSurfaceTests
{
    [Fact]
    public async Task Each_step_has_its_clips_with_their_thresholds_and_the_type_of_the_model_it_trains()
    {
        await StepVerify.VerifyAsync(
            TrainingModels.Usings + """
            sealed class Trainer
            {
                private const double ValueLimit = 0.1;
                private readonly Seq2One model = new(2, 8);
                private readonly optim.Optimizer optimizer;

                public Trainer() => optimizer = optim.Adam(model.parameters());

                public void TrainBatch(Tensor x, Tensor y)
                {
                    optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    {|#0:nn.utils.clip_grad_norm_(model.parameters(), 0.5)|};
                    optimizer.step();
                }

                public void TrainHead(Mlp head, Tensor x, Tensor y)
                {
                    var sgd = optim.SGD(head.parameters(), 0.01);
                    for (var i = 0; i < 10; i++)
                    {
                        sgd.zero_grad();
                        nn.functional.mse_loss(head.call(x), y).backward();
                        {|#1:nn.utils.clip_grad_value_(head.parameters(), ValueLimit)|};
                        sgd.step();
                    }
                }

                public void TrainBoth(Mlp head, Tensor x, Tensor y)
                {
                    var both = optim.Adam(model.parameters().Concat(head.parameters()));
                    both.zero_grad();
                    nn.functional.mse_loss(head.call(model.call(x)), y).backward();
                    {|#2:nn.utils.clip_grad_norm_(model.parameters(), 1.0)|};
                    both.step();
                }
            }
            """ + TrainingModels.Seq2One + TrainingModels.Mlp,
            Clip(0, "Seq2One", "0.5"),
            Clip(1, "Mlp", "ValueLimit = 0.1"),
            Clip(2, "(no single model)", "1.0"));
    }

    [Fact]
    public async Task Recurrent_module_invocations_are_found_with_call_or_forward_and_the_referenced_assemblies_are_known()
    {
        await InvocationVerify.VerifyAsync(
            TrainingModels.Usings + """
            sealed class Tagger : nn.Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.GRU gru;
                private readonly TorchSharp.Modules.LSTMCell cell;
                private readonly TorchSharp.Modules.Linear head;

                public Tagger() : base(nameof(Tagger))
                {
                    gru = nn.GRU(4, 8, batchFirst: true);
                    cell = nn.LSTMCell(8, 8);
                    head = nn.Linear(8, 3);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var (output, _) = {|#0:gru.forward(x)|};
                    var (h, _) = {|#1:cell.call(output.select(1, -1))|};
                    return head.call(h);
                }
            }
            """,
            Invocation(0, "forward"),
            Invocation(1, "call"));
    }

    private static DiagnosticResult Clip(int location, string model, string threshold) =>
        new DiagnosticResult(StepClipProbe.Clip).WithLocation(location).WithArguments(model, threshold);

    private static DiagnosticResult Invocation(int location, string name) =>
        new DiagnosticResult(RecurrentInvocationProbe.Invocation).WithLocation(location).WithArguments(name, "True", "False");

    /// <summary>Reports every clipping call of every training step, with the model type the step trains and the threshold's source.</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class StepClipProbe : GradientDiagnosticsAnalyzer
    {
        public static readonly DiagnosticDescriptor Clip = new("PROBE20", "clip", "{0} {1}", "Test", DiagnosticSeverity.Warning, true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => [Clip];

        private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
            RegisterTrainingMethodAction(context, program, (symbol, method) =>
            {
                foreach (var step in method.Steps)
                {
                    var model = program.Models.ModelType(step, symbol.CancellationToken)?.Name ?? "(no single model)";
                    foreach (var (clip, threshold) in program.ClipsOf(method, step))
                    {
                        var source = threshold is IFieldReferenceOperation field
                            ? field.Field.Name + " = " + field.ConstantValue.Value
                            : threshold?.Syntax.ToString() ?? "none";
                        symbol.ReportDiagnostic(Diagnostic.Create(Clip, clip.Syntax.GetLocation(), model, source));
                    }
                }
            });
    }

    /// <summary>Reports every invocation of a recurrent module, and whether TorchSharp and the runtime watch are referenced.</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class RecurrentInvocationProbe : GradientDiagnosticsAnalyzer
    {
        public static readonly DiagnosticDescriptor Invocation = new("PROBE21", "invocation", "{0} {1} {2}", "Test", DiagnosticSeverity.Warning, true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => [Invocation];

        private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program) =>
            RegisterPerTypeOperationAction(
                context,
                program,
                (_, _) => true,
                body =>
                {
                    foreach (var invocation in program.RecurrentModuleInvocations(body.Operation))
                    {
                        body.ReportDiagnostic(Diagnostic.Create(
                            Invocation,
                            invocation.Syntax.GetLocation(),
                            invocation.TargetMethod.Name,
                            program.References("TorchSharp"),
                            program.References("GradientDiagnostics.Runtime")));
                    }
                },
                OperationKind.MethodBody);
    }
}
