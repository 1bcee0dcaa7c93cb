using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// Every diagnostic the analyzers report on a corpus, one per line with its place and message, and every analyzer
/// exception (AD0001): what a precision review of real code reads, diagnostic by diagnostic.
/// </summary>
public static class DiagnosticsListing
{
    public static async Task<int> RunAsync(Corpus corpus, ImmutableArray<DiagnosticAnalyzer> analyzers, int shownErrors)
    {
        var compilation = corpus.Compile();
        var errorList = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        var errors = errorList.Count;
        // A fetched project's missing dependencies leave errors; the first few say which references to add.
        foreach (var error in errorList.Take(shownErrors))
        {
            Console.WriteLine("error " + error);
        }

        var exceptions = new List<string>();
        var analysis = compilation.WithAnalyzers(
            analyzers,
            new CompilationWithAnalyzersOptions(
                new AnalyzerOptions([]),
                onAnalyzerException: (exception, analyzer, _) => exceptions.Add($"{analyzer.GetType().Name}: {exception}"),
                concurrentAnalysis: true,
                logAnalyzerExecutionTime: false));
        var diagnostics = (await analysis.GetAnalyzerDiagnosticsAsync(CancellationToken.None))
            .OrderBy(d => d.Location.SourceTree?.FilePath, StringComparer.Ordinal)
            .ThenBy(d => d.Location.SourceSpan.Start)
            .ToList();
        Console.WriteLine($"{corpus.Description}: {corpus.Trees.Length} files, {errors} compiler errors, {diagnostics.Count} analyzer diagnostics, {exceptions.Count} analyzer exceptions");
        // Per rule, so a reviewer judges one rule's reports together, each at the file(line,column) to open.
        foreach (var group in diagnostics.GroupBy(d => d.Id).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"{group.Key}: {group.Count()}");
            foreach (var diagnostic in group)
            {
                var span = diagnostic.Location.GetLineSpan();
                Console.WriteLine($"  {span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): {diagnostic.Id} {diagnostic.Severity}: {diagnostic.GetMessage()}");
            }
        }

        foreach (var exception in exceptions)
        {
            Console.WriteLine("AD0001 " + exception);
        }

        return exceptions.Count == 0 && !diagnostics.Any(d => d.Id == "AD0001") ? 0 : 1;
    }
}
