using System.Collections.Immutable;
using System.Reflection;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>What the shipped assemblies contain, found by reflection so that a new rule is covered without editing a list.</summary>
internal static class AnalyzerCatalog
{
    public static string RepositoryRoot { get; } = typeof(AnalyzerCatalog).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    public static Assembly AnalyzerAssembly => typeof(DiagnosticDescriptors).Assembly;

    public static Assembly CodeFixAssembly { get; } = Assembly.Load("GradientDiagnostics.CodeFixes");

    /// <summary>Every public static DiagnosticDescriptor field of <see cref="DiagnosticDescriptors"/>.</summary>
    public static ImmutableArray<DiagnosticDescriptor> Descriptors { get; } = typeof(DiagnosticDescriptors)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
        .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
        .ToImmutableArray();

    public static ImmutableArray<Type> AnalyzerTypes { get; } = ConcreteSubclassesOf<DiagnosticAnalyzer>(AnalyzerAssembly);

    public static ImmutableArray<Type> CodeFixTypes { get; } = ConcreteSubclassesOf<CodeFixProvider>(CodeFixAssembly);

    /// <summary>A fresh instance of every analyzer in the analyzer assembly.</summary>
    public static ImmutableArray<DiagnosticAnalyzer> CreateAnalyzers() =>
        AnalyzerTypes.Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!).ToImmutableArray();

    private static ImmutableArray<Type> ConcreteSubclassesOf<T>(Assembly assembly) => assembly
        .GetTypes()
        .Where(t => typeof(T).IsAssignableFrom(t) && !t.IsAbstract)
        .OrderBy(t => t.FullName, StringComparer.Ordinal)
        .ToImmutableArray();
}
