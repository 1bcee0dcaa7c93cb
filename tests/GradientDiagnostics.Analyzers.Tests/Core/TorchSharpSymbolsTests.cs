using System.Collections.Immutable;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Testing;
using Verify = GradientDiagnostics.Testing.TorchSharpAnalyzerVerifier<GradientDiagnostics.Analyzers.Tests.Core.TorchSharpSymbolsTests.TrainingCallProbe>;

namespace GradientDiagnostics.Analyzers.Tests.Core;

public class TorchSharpSymbolsTests
{
    [Fact]
    public async Task Recognises_backward_step_and_recurrent_modules_by_symbol_in_real_training_code()
    {
        const string source = """
            using TorchSharp;
            using static TorchSharp.torch;

            sealed class Seq2One : nn.Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.LSTM lstm;
                private readonly TorchSharp.Modules.Linear head;

                public Seq2One() : base(nameof(Seq2One))
                {
                    lstm = nn.LSTM(2, 32, batchFirst: true);
                    head = nn.Linear(32, 1);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var (y, _, _) = lstm.call(x);
                    return head.call(y.select(1, -1));
                }
            }

            static class Trainer
            {
                public static void Train()
                {
                    var model = new Seq2One();
                    var optimizer = optim.Adam(model.parameters(), 1e-3);
                    for (var step = 0; step < 10; step++)
                    {
                        optimizer.zero_grad();
                        var loss = nn.functional.mse_loss(model.call(rand(8, 50, 2)), rand(8, 1));
                        {|#0:loss.backward()|};
                        {|#1:optimizer.step()|};
                    }
                }
            }
            """;

        await Verify.VerifyAsync(
            source,
            new DiagnosticResult(TrainingCallProbe.Backward).WithLocation(0),
            new DiagnosticResult(TrainingCallProbe.Step).WithLocation(1),
            new DiagnosticResult(TrainingCallProbe.Recurrent).WithSpan(11, 16, 11, 48).WithArguments("LSTM"));
    }

    [Fact]
    public async Task A_user_class_named_LSTM_with_backward_and_step_methods_is_not_TorchSharp()
    {
        const string source = """
            using TorchSharp;

            class LSTM { public LSTM(int a, int b) { } }
            class Loss { public void backward() { } }
            class Optimizer { public void step() { } }

            static class Trainer
            {
                public static void Train()
                {
                    var lstm = new LSTM(2, 32);
                    var loss = new Loss();
                    var opt = new Optimizer();
                    loss.backward();
                    opt.step();
                }
            }
            """;

        await Verify.VerifyAsync(source);
    }

    [Fact]
    public void Resolves_nothing_without_a_TorchSharp_reference()
    {
        var compilation = CSharpCompilation.Create("NoTorch", [CSharpSyntaxTree.ParseText("class C { }")]);
        Assert.Null(TorchSharpSymbols.TryCreate(compilation));
    }

    [Fact]
    public async Task Registers_nothing_without_a_TorchSharp_reference()
    {
        await Verify.VerifyWithoutTorchSharpAsync("""
            class Loss { public void backward() { } }
            static class Program { static void Main() => new Loss().backward(); }
            """);
    }

    /// <summary>A test-only analyzer that reports what <see cref="TorchSharpSymbols"/> recognises.</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class TrainingCallProbe : GradientDiagnosticsAnalyzer
    {
        public static readonly DiagnosticDescriptor Backward = new("PROBE1", "backward", "backward", "Test", DiagnosticSeverity.Warning, true);
        public static readonly DiagnosticDescriptor Step = new("PROBE2", "step", "step", "Test", DiagnosticSeverity.Warning, true);
        public static readonly DiagnosticDescriptor Recurrent = new("PROBE3", "recurrent", "recurrent {0}", "Test", DiagnosticSeverity.Warning, true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => [Backward, Step, Recurrent];

        private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program)
        {
            var symbols = program.Symbols;
            context.RegisterOperationAction(
                operation =>
                {
                    var invocation = (IInvocationOperation)operation.Operation;
                    if (symbols.IsBackward(invocation.TargetMethod))
                    {
                        operation.ReportDiagnostic(Diagnostic.Create(Backward, invocation.Syntax.GetLocation()));
                    }
                    else if (symbols.IsOptimizerStep(invocation.TargetMethod))
                    {
                        operation.ReportDiagnostic(Diagnostic.Create(Step, invocation.Syntax.GetLocation()));
                    }
                    else if (symbols.IsRecurrentModule(invocation.TargetMethod.ReturnType) && invocation.TargetMethod.IsStatic)
                    {
                        operation.ReportDiagnostic(Diagnostic.Create(Recurrent, invocation.Syntax.GetLocation(), invocation.TargetMethod.ReturnType.Name));
                    }
                },
                OperationKind.Invocation);
        }
    }
}
