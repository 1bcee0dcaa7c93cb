using Microsoft.CodeAnalysis;

namespace GradientDiagnostics.Analyzers;

/// <summary>Every rule's descriptor, in one place. Help links are computed from the id.</summary>
public static class DiagnosticDescriptors
{
    public const string HelpLinkBase = "https://github.com/GradientDiagnostics/GradientDiagnostics/blob/main/docs/rules/";

    public static string HelpLink(string id) => HelpLinkBase + id + ".md";

    public static readonly DiagnosticDescriptor MissingGradientClipping = Create(
        RuleIdentifiers.MissingGradientClipping,
        "Clip gradients in recurrent training steps",
        "Recurrent training step calls '{0}' after backward() without clipping the gradients; exploding gradients through time will destabilise training",
        RuleCategories.Training,
        DiagnosticSeverity.Warning,
        "Backpropagation through time multiplies the gradient by the recurrent weight matrix once per timestep, so its norm can grow exponentially with sequence length. Clip the gradient norm between backward() and the optimizer step.");

    public static readonly DiagnosticDescriptor UnboundedBackpropagationThroughTime = Create(
        RuleIdentifiers.UnboundedBackpropagationThroughTime,
        "Detach the hidden state carried between iterations",
        "Hidden state '{0}' of '{1}' is carried into the next iteration without detach(); backpropagation runs through every earlier iteration",
        RuleCategories.Training,
        DiagnosticSeverity.Warning,
        "A hidden state returned by a recurrent module and fed back in a later iteration keeps the autograd graph of every earlier iteration alive, so gradients flow through an ever longer sequence (and memory grows). Detach it where it is carried (truncated BPTT). DetachFromDisposeScope and MoveToOuterDisposeScope manage memory scopes; they do not detach from autograd.");

    public static readonly DiagnosticDescriptor DefaultVanillaRnnInitialization = Create(
        RuleIdentifiers.DefaultVanillaRnnInitialization,
        "Initialise vanilla RNN weights explicitly",
        "Vanilla recurrent module '{0}' keeps its default initialisation; initialise weight_hh orthogonally (identity for ReLU) and weight_ih with Xavier",
        RuleCategories.Initialization,
        DiagnosticSeverity.Warning,
        "With default uniform initialisation the recurrent Jacobian of a vanilla RNN has a spectral radius far from 1, so gradients vanish or explode exponentially through time. Orthogonal (or identity, for ReLU) recurrent weights keep it near 1.");

    public static readonly DiagnosticDescriptor DefaultGatedRnnInitialization = Create(
        RuleIdentifiers.DefaultGatedRnnInitialization,
        "Initialise gated recurrent weights explicitly",
        "Gated recurrent module '{0}' keeps its default initialisation; consider orthogonal weight_hh, Xavier weight_ih{1}",
        RuleCategories.Initialization,
        DiagnosticSeverity.Info,
        "Gated cells are robust, but orthogonal recurrent weights and (for LSTM) a forget-gate bias of 1 measurably help gradients survive long sequences early in training.");

    public static readonly DiagnosticDescriptor VanillaRnnInsteadOfGatedCell = Create(
        RuleIdentifiers.VanillaRnnInsteadOfGatedCell,
        "Prefer a gated cell to a vanilla RNN",
        "'{0}' is a vanilla RNN; a gated cell ({1}) keeps gradients alive over long sequences",
        RuleCategories.Design,
        DiagnosticSeverity.Info,
        "Vanilla RNNs suffer vanishing gradients through time by construction; LSTM and GRU gates provide an additive path that preserves them. nn.GRU has the same call shape as nn.RNN.");

    public static readonly DiagnosticDescriptor IneffectiveClipPlacement = Create(
        RuleIdentifiers.IneffectiveClipPlacement,
        "Clip gradients between backward() and step()",
        "Gradient clipping '{0}' runs {1}, where it cannot affect the update; move it to just after backward()",
        RuleCategories.Training,
        DiagnosticSeverity.Warning,
        "Clipping before backward() clips the previous (or cleared) gradients and clipping after step() clips gradients that were already applied. Only clipping between backward() and step() bounds the update.");

    public static readonly DiagnosticDescriptor InvalidClipThreshold = Create(
        RuleIdentifiers.InvalidClipThreshold,
        "Use a finite, positive gradient-clipping threshold",
        "Clipping threshold {0} {1}",
        RuleCategories.Training,
        DiagnosticSeverity.Warning,
        "A threshold that is zero, negative, NaN or infinite disables or breaks clipping, and a very large threshold never acts.");

    public static readonly DiagnosticDescriptor GradientsNeverCleared = Create(
        RuleIdentifiers.GradientsNeverCleared,
        "Clear gradients between optimizer steps",
        "Training loop calls backward() and '{0}' but never zero_grad(); gradients accumulate across iterations",
        RuleCategories.Training,
        DiagnosticSeverity.Warning,
        "TorchSharp adds each backward() into .grad. Without zero_grad() every step applies the sum of all previous gradients, which grows without bound.");

    public static readonly DiagnosticDescriptor RetainGraphInTrainingLoop = Create(
        RuleIdentifiers.RetainGraphInTrainingLoop,
        "Do not retain the autograd graph in a training loop",
        "backward(retain_graph: true) inside a training loop keeps every iteration's graph alive",
        RuleCategories.Training,
        DiagnosticSeverity.Warning,
        "retain_graph keeps the graph after backward(). In a loop that carries state, every later backward() runs through all retained graphs: memory and time grow per iteration and the gradient runs through the whole history.");

    public static readonly DiagnosticDescriptor UnprofiledRecurrentModuleCall = Create(
        RuleIdentifiers.UnprofiledRecurrentModuleCall,
        "Invoke recurrent modules so that the gradient watch can profile them",
        "'{0}' is {1}: TorchSharp runs no module hooks for it, so the GradientWatch cannot profile the module; {2}",
        RuleCategories.Instrumentation,
        DiagnosticSeverity.Info,
        "GradientWatch profiles a recurrent module (gradient per timestep, memory horizon) through module hooks, which TorchSharp runs only when the module is invoked as module.call(tensor, ...). A call of forward(...) or of the PackedSequence overload of call bypasses them, and the watch then lists the module in GradientStepReport.Unprofiled. Invoke it with call(...); for packed input, pass the PackedSequence through watch.TrackInput(packed, \"<module name>\") and give the module what that returns.");

    /// <summary>Warning by default (a threshold below the measured p10); reported as Info for one above the measured max.</summary>
    public static readonly DiagnosticDescriptor ClipThresholdOutsideMeasuredNorms = Create(
        RuleIdentifiers.ClipThresholdOutsideMeasuredNorms,
        "Set the clipping threshold from the measured gradient norms",
        "Clipping threshold {0} {1}",
        RuleCategories.Training,
        DiagnosticSeverity.Warning,
        "A calibration file records the pre-clip global gradient norm a watched run measured for this model. A threshold below the measured p10 rescales at least nine steps in ten: the optimizer then runs on normalised gradients whose step length is the learning rate (reported as a Warning). A threshold far above the measured maximum never engages at this model's scale (reported as Info).");

    public static readonly DiagnosticDescriptor InvalidConfiguration = Create(
        RuleIdentifiers.InvalidConfiguration,
        "GradientDiagnostics option is malformed",
        "Option '{0}' has value '{1}' which is not valid: {2}",
        RuleCategories.Configuration,
        DiagnosticSeverity.Warning,
        "A gradient_diagnostics.* option in .editorconfig or a .globalconfig could not be read, so the rules run with the default in its place. Reported once per distinct option value, on the first source file that the value applies to.");

    public static readonly DiagnosticDescriptor UnreadableCalibrationFile = Create(
        RuleIdentifiers.UnreadableCalibrationFile,
        "Calibration file cannot be read",
        "Calibration file '{0}' cannot be read: {1}",
        RuleCategories.Configuration,
        DiagnosticSeverity.Warning,
        "A calibration file (gradient-calibration.json, or an AdditionalFile that declares the gradient-diagnostics/calibration schema) is not valid JSON, declares another schema, or holds an entry that breaks schema v1. What cannot be read is not used: GD0001's fix writes the configured default clip norm and GD0011 stays silent for the models concerned.");

    private static DiagnosticDescriptor Create(string id, string title, string message, string category, DiagnosticSeverity severity, string description) =>
        new(id, title, message, category, severity, isEnabledByDefault: true, description: description, helpLinkUri: HelpLink(id));
}
