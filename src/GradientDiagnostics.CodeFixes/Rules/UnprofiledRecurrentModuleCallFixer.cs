using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.CodeFixes;

/// <summary>
/// GD0010: renames <c>forward</c> to <c>call</c> (RNN, LSTM and GRU declare <c>call</c> with <c>forward</c>'s parameters,
/// names and result, so named arguments and tuple states keep binding), or wraps the packed argument in
/// <c>watch.TrackInput(packed, "name")</c> — <c>watch?.TrackInput(packed, "name") ?? packed</c> for a nullable watch — with
/// the one watch in scope. The analyzer hands over the anchor only when the fix compiles and the watch is unambiguous.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UnprofiledRecurrentModuleCallFixer)), Shared]
public sealed class UnprofiledRecurrentModuleCallFixer : TextChangeCodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIdentifiers.UnprofiledRecurrentModuleCall);

    protected override async Task<TextFix?> ComputeFixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        if (diagnostic.AdditionalLocations.Count <= DiagnosticProperties.UnprofiledCallAnchorLocation
            || diagnostic.AdditionalLocations[DiagnosticProperties.UnprofiledCallAnchorLocation] is not { SourceTree: { } tree } anchor
            || await document.GetSyntaxTreeAsync(cancellationToken).ConfigureAwait(false) != tree)
        {
            return null;
        }

        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        switch (DiagnosticProperties.ReadUnprofiledCall(diagnostic.Properties))
        {
            case UnprofiledCall.Forward when text.ToString(anchor.SourceSpan) == "forward":
                return new TextFix("Invoke with call(...)", ImmutableArray.Create(new TextChange(anchor.SourceSpan, "call")));
            case UnprofiledCall.UntrackedPackedInput when DiagnosticProperties.ReadTracking(diagnostic.Properties) is var (watch, mayBeNull, profileName):
                var packed = text.ToString(anchor.SourceSpan);
                var name = SymbolDisplay.FormatLiteral(profileName, quote: true);
                var tracked = mayBeNull ? $"{watch}?.TrackInput({packed}, {name}) ?? {packed}" : $"{watch}.TrackInput({packed}, {name})";
                return new TextFix($"Track the packed input with {watch}.TrackInput", ImmutableArray.Create(new TextChange(anchor.SourceSpan, tracked)));
            default:
                return null;
        }
    }
}
