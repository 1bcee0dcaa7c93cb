using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// Loads the analyzers of another build of GradientDiagnostics.Analyzers (e.g. main's, saved before a change) beside this
/// one, in their own load context that shares Roslyn with the default context, so before and after are measured in the
/// same process, round by round.
/// </summary>
public static class BaselineAnalyzers
{
    public static ImmutableArray<DiagnosticAnalyzer> Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Baseline analyzer assembly '{path}' not found.", path);
        }

        var context = new BaselineLoadContext(Path.GetFullPath(path));
        var assembly = context.LoadFromAssemblyPath(Path.GetFullPath(path));
        return assembly.GetTypes()
            .Where(t => typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && !t.IsAbstract && t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null)
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
            .ToImmutableArray();
    }

    private sealed class BaselineLoadContext(string path) : AssemblyLoadContext("baseline analyzers")
    {
        // Roslyn and the framework come from the default context; only the baseline's own assembly is loaded here.
        protected override Assembly? Load(AssemblyName assemblyName) =>
            assemblyName.Name == Path.GetFileNameWithoutExtension(path) ? LoadFromAssemblyPath(path) : null;
    }
}
