using System.Collections.Immutable;
using System.Reflection;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Package.Tests;

/// <summary>What the analyzer and code-fix assemblies that go into the package actually contain.</summary>
internal static class ShippedRules
{
    /// <summary>The training rules GD0001–GD0009 (not GD1000, which is about configuration, not training code).</summary>
    public static readonly ImmutableArray<string> TrainingRuleIds = Enumerable.Range(1, 9).Select(n => $"GD{n:D4}").ToImmutableArray();

    public static ImmutableArray<DiagnosticAnalyzer> Analyzers { get; } = typeof(RuleIdentifiers).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null)
        .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
        .ToImmutableArray();

    /// <summary>Training rule ids some shipped analyzer reports.</summary>
    public static ImmutableSortedSet<string> ImplementedTrainingRules { get; } = Analyzers
        .SelectMany(a => a.SupportedDiagnostics)
        .Select(d => d.Id)
        .Where(TrainingRuleIds.Contains)
        .ToImmutableSortedSet(StringComparer.Ordinal);

    /// <summary>Training rule ids some shipped code fix provider fixes.</summary>
    public static ImmutableSortedSet<string> FixableTrainingRules { get; } = LoadCodeFixAssembly().GetTypes()
        .Where(t => !t.IsAbstract && typeof(CodeFixProvider).IsAssignableFrom(t) && t.GetCustomAttribute<ExportCodeFixProviderAttribute>() is not null)
        .SelectMany(t => ((CodeFixProvider)Activator.CreateInstance(t)!).FixableDiagnosticIds)
        .Where(TrainingRuleIds.Contains)
        .ToImmutableSortedSet(StringComparer.Ordinal);

    public static string HelpLink(string id) => DiagnosticDescriptors.HelpLink(id);

    public static DiagnosticSeverity DefaultSeverity(string id) =>
        Analyzers.SelectMany(a => a.SupportedDiagnostics).First(d => d.Id == id).DefaultSeverity;

    /// <summary>Every rule the analyzers implement must at least include the headline rule, or these tests prove nothing.</summary>
    public static void AssertHeadlineRuleImplemented() =>
        Assert.True(ImplementedTrainingRules.Contains(RuleIdentifiers.MissingGradientClipping), $"No shipped analyzer reports {RuleIdentifiers.MissingGradientClipping}; implemented: [{string.Join(", ", ImplementedTrainingRules)}]");

    // The test project references GradientDiagnostics.CodeFixes only so that it is built and copied next to the tests.
    private static Assembly LoadCodeFixAssembly() => Assembly.Load("GradientDiagnostics.CodeFixes");
}
