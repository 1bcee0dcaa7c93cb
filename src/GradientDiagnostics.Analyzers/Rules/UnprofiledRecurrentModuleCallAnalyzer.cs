using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace GradientDiagnostics.Analyzers;

/// <summary>
/// GD0010, in a compilation that references GradientDiagnostics.Runtime: an <c>nn.RNN</c>, <c>nn.LSTM</c> or <c>nn.GRU</c>
/// — the modules the watch hooks; cells are profiled with <c>TrackState</c> — invoked with <c>forward(…)</c>, or with a
/// <c>PackedSequence</c> that does not come from <c>GradientWatch.TrackInput</c>, where it runs while a model trains
/// (<see cref="TrainingPaths"/>). TorchSharp runs module hooks for neither, so the watch lists the module as unprofiled.
/// A packed input whose origin the compilation cannot follow (a forward's parameter) is reported only when nothing in the
/// compilation calls <c>TrackInput</c>. Fixes: <c>forward</c> → <c>call</c> (same parameters and result for all three
/// types in TorchSharp 0.107.0); the packed argument wrapped in <c>watch.TrackInput(…, "name")</c> when exactly one watch
/// is in scope.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnprofiledRecurrentModuleCallAnalyzer : GradientDiagnosticsAnalyzer
{
    private static readonly string[] ModuleInvocationNames = ["call", "forward"];

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.UnprofiledRecurrentModuleCall);

    private protected override void Register(CompilationStartAnalysisContext context, TrainingProgram program)
    {
        if (!program.References(WatchCoverage.RuntimeAssemblyName))
        {
            return;
        }

        RegisterPerTypeOperationAction(
            context,
            program,
            (tree, span) => SourceWords.Mentions(tree, span, ModuleInvocationNames),
            body =>
            {
                foreach (var invocation in program.RecurrentModuleInvocations(body.Operation))
                {
                    if (Judge(program, invocation, body) is { } diagnostic)
                    {
                        body.ReportDiagnostic(diagnostic);
                    }
                }
            },
            OperationKind.MethodBody,
            OperationKind.ConstructorBody);
    }

    private static Diagnostic? Judge(TrainingProgram program, IInvocationOperation invocation, OperationAnalysisContext body)
    {
        var receiver = invocation.Receiver();
        if (receiver is null || !program.Symbols.IsRecurrentLayer(receiver.Type))
        {
            return null;
        }

        var module = receiver.ReferencedSymbol();
        var moduleText = module?.Name ?? receiver.Syntax.ToString();
        var input = invocation.Arguments.FirstOrDefault(argument => argument.Parameter?.Ordinal == 0);
        if (input is not null && program.Symbols.IsPackedSequence(input.Parameter?.Type))
        {
            // TorchSharp 0.107.0 declares the PackedSequence overload on call only, and it runs no module hooks: the remedy
            // is TrackInput, which the watch profiles by itself.
            return IsUntracked(program, input.Value, body) && program.Paths.RunsInTraining(invocation, body.ContainingSymbol, body.CancellationToken)
                ? UntrackedPackedInput(program, input.Value, module, moduleText, body)
                : null;
        }

        return invocation.TargetMethod.Name == "forward" && program.Paths.RunsInTraining(invocation, body.ContainingSymbol, body.CancellationToken)
            ? Forward(invocation, input, moduleText)
            : null;
    }

    private static Diagnostic Forward(IInvocationOperation invocation, IArgumentOperation? input, string moduleText)
    {
        // call(null) would be ambiguous between the Tensor and PackedSequence overloads: no fix for an untyped input.
        var name = input?.Value.WithoutConversions().Type is not null ? ForwardName(invocation.Syntax) : null;
        return Diagnostic.Create(
            DiagnosticDescriptors.UnprofiledRecurrentModuleCall,
            invocation.Syntax.GetLocation(),
            name is null ? null : [name.GetLocation()],
            DiagnosticProperties.Create().WithUnprofiledCall(UnprofiledCall.Forward),
            moduleText,
            "invoked with forward(...)",
            "invoke it with call(...)");
    }

    /// <summary>Not from TrackInput on any path; from somewhere unknown only when nothing in the compilation tracks input at all.</summary>
    private static bool IsUntracked(TrainingProgram program, IOperation packed, OperationAnalysisContext body) =>
        program.Coverage.OriginOf(packed, body.CancellationToken) switch
        {
            PackedInputOrigin.Untracked => true,
            PackedInputOrigin.Unknown => !program.Coverage.TracksAnyInput(body.CancellationToken),
            _ => false,
        };

    private static Diagnostic UntrackedPackedInput(TrainingProgram program, IOperation packed, ISymbol? module, string moduleText, OperationAnalysisContext body)
    {
        var profileName = module is null ? moduleText : program.Coverage.ProfileName(module, body.CancellationToken);
        var watches = program.Coverage.WatchesInScope(packed, body.ContainingSymbol);
        var isPlainReference = IsPlainReference(packed.WithoutConversions());
        var packedText = isPlainReference ? packed.Syntax.ToString() : "packed";
        var properties = DiagnosticProperties.Create().WithUnprofiledCall(UnprofiledCall.UntrackedPackedInput);
        string remedy;
        var fixable = false;
        if (watches.Length == 1)
        {
            // A nullable watch is tracked with `watch?.TrackInput(p, …) ?? p`, which reads p twice: only a plain reference.
            var watch = watches[0];
            var mayBeNull = MayBeNull(watch, packed.SemanticModel, body.CancellationToken);
            fixable = !mayBeNull || isPlainReference;
            properties = fixable ? properties.WithTracking(watch.Name, mayBeNull, profileName) : properties;
            remedy = $"pass {watch.Name}.TrackInput({packedText}, \"{profileName}\") instead";
        }
        else
        {
            var tracked = $"watch.TrackInput({packedText}, \"{profileName}\")";
            remedy = watches.IsEmpty
                ? $"no GradientWatch is in scope here: pass the watch in and use {tracked}, or track the packed sequence where it is built and pass on what TrackInput returns"
                : $"use {tracked} with the watch attached to this model";
        }

        return Diagnostic.Create(
            DiagnosticDescriptors.UnprofiledRecurrentModuleCall,
            packed.Syntax.GetLocation(),
            fixable ? [packed.Syntax.GetLocation()] : null,
            properties,
            moduleText,
            "given a PackedSequence not passed through GradientWatch.TrackInput",
            remedy);
    }

    /// <summary>
    /// Whether the watch may be null where the input is tracked. A <c>var</c> local is declared nullable in an enabled
    /// nullable context whatever it holds: <c>using var watch = GradientWatch.Attach(model);</c> is judged by its initializer.
    /// </summary>
    private static bool MayBeNull(ISymbol watch, SemanticModel? model, CancellationToken cancellationToken)
    {
        if (watch is ILocalSymbol { IsRef: false } local && model is not null
            && local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is VariableDeclaratorSyntax
            {
                Parent: VariableDeclarationSyntax { Type.IsVar: true },
                Initializer.Value: { } initializer,
            }
            && initializer.SyntaxTree == model.SyntaxTree)
        {
            return model.GetTypeInfo(initializer, cancellationToken).Nullability.FlowState == NullableFlowState.MaybeNull;
        }

        return watch.DeclaredType()?.NullableAnnotation == NullableAnnotation.Annotated;
    }

    /// <summary>A local, a parameter, or a field or property of this object or a static one: read twice, it reads the same value.</summary>
    private static bool IsPlainReference(IOperation operation) => operation switch
    {
        ILocalReferenceOperation or IParameterReferenceOperation => true,
        IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } => true,
        IPropertyReferenceOperation { Instance: null or IInstanceReferenceOperation, Property.IsIndexer: false } => true,
        _ => false,
    };

    /// <summary>The <c>forward</c> of <c>m.forward(…)</c> or <c>m?.forward(…)</c>.</summary>
    private static SimpleNameSyntax? ForwardName(SyntaxNode invocation) => invocation is InvocationExpressionSyntax { Expression: var expression }
        ? expression switch
        {
            MemberAccessExpressionSyntax access => access.Name,
            MemberBindingExpressionSyntax binding => binding.Name,
            _ => null,
        }
        : null;
}
