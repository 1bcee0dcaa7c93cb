namespace GradientDiagnostics.Analyzers;

/// <summary>The rule ids and categories. Ids and meanings are a fixed public contract (docs/rules/GD000N.md).</summary>
public static class RuleIdentifiers
{
    public const string MissingGradientClipping = "GD0001";
    public const string UnboundedBackpropagationThroughTime = "GD0002";
    public const string DefaultVanillaRnnInitialization = "GD0003";
    public const string DefaultGatedRnnInitialization = "GD0004";
    public const string VanillaRnnInsteadOfGatedCell = "GD0005";
    public const string IneffectiveClipPlacement = "GD0006";
    public const string InvalidClipThreshold = "GD0007";
    public const string GradientsNeverCleared = "GD0008";
    public const string RetainGraphInTrainingLoop = "GD0009";
    public const string UnprofiledRecurrentModuleCall = "GD0010";
    public const string ClipThresholdOutsideMeasuredNorms = "GD0011";

    public const string InvalidConfiguration = "GD1000";
    public const string UnreadableCalibrationFile = "GD1001";
}

public static class RuleCategories
{
    public const string Training = "Training";
    public const string Initialization = "Initialization";
    public const string Design = "Design";
    public const string Configuration = "Configuration";
    public const string Instrumentation = "Instrumentation";
}
