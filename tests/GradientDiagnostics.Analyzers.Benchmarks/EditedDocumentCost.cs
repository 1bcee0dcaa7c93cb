using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// What an IDE pays per keystroke: one document of the analysed project is edited, which makes a new compilation, and only
/// that document is analysed again (<c>GetAnalyzerSemanticDiagnosticsAsync</c> on its semantic model, as the IDE's document
/// diagnostics do). Compared, round by round, with the compiler's own diagnostics of the same edited document: a rule that
/// rebuilt a whole-compilation index or bound other files per compilation would pay for it here, on every keystroke.
/// </summary>
public static class EditedDocumentCost
{
    public static async Task RunAsync(Corpus corpus, IReadOnlyList<(string Name, ImmutableArray<DiagnosticAnalyzer> Analyzers)> arms, int rounds, AnalyzerOptions analyzerOptions)
    {
        var project = corpus.Compile();
        project.GetDiagnostics();

        // The IDE has analysed the project once before the user starts typing.
        foreach (var (_, analyzers) in arms)
        {
            await project.WithAnalyzers(analyzers, Options(analyzerOptions)).GetAnalyzerDiagnosticsAsync(CancellationToken.None);
        }

        var edited = corpus.EditedDocuments;
        Console.WriteLine($"One edited document of {corpus.Trees.Length} re-analysed (IDE document diagnostics), median of {rounds} rounds per document;");
        Console.WriteLine("compiler = the document's own compiler diagnostics; the arms add their analyzers' wall time and execution time (ms):");
        Console.WriteLine($"| document | compiler | " + string.Join(" | ", arms.Select(a => $"+ {a.Name} wall | {a.Name} exec")) + " |");
        Console.WriteLine("|---|---:|" + string.Concat(arms.Select(_ => "---:|---:|")));
        var all = new List<double>[1 + 2 * arms.Count];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = [];
        }

        foreach (var tree in edited)
        {
            var columns = new List<double>[all.Length];
            for (var i = 0; i < columns.Length; i++)
            {
                columns[i] = [];
            }

            for (var round = -1; round < rounds; round++)
            {
                var compiler = CompilerMilliseconds(project, tree, Edit(tree, round, "c"));
                var values = new List<double> { compiler };
                foreach (var (name, analyzers) in arms)
                {
                    var (wall, exec) = await AnalyzeMillisecondsAsync(project, tree, Edit(tree, round, name), analyzers, analyzerOptions);
                    values.Add(wall - compiler);
                    values.Add(exec);
                }

                if (round >= 0)
                {
                    for (var i = 0; i < values.Count; i++)
                    {
                        columns[i].Add(values[i]);
                        all[i].Add(values[i]);
                    }
                }
            }

            Console.WriteLine($"| {Path.GetFileName(tree.FilePath)} | " + string.Join(" | ", columns.Select(c => CostReport.Median(c).ToString("F1", CultureInfo.InvariantCulture))) + " |");
        }

        Console.WriteLine("| median over all | " + string.Join(" | ", all.Select(c => CostReport.Median(c).ToString("F1", CultureInfo.InvariantCulture))) + " |");
        Console.WriteLine();
    }

    /// <summary>A keystroke: a new comment line at the end of the last member, different each round and arm so no cache can answer it.</summary>
    private static SyntaxTree Edit(SyntaxTree original, int round, string arm)
    {
        var text = original.GetText();
        var at = text.ToString().LastIndexOf('}');
        return original.WithChangedText(text.WithChanges(new TextChange(new TextSpan(at, 0), $"// edit {round} {arm}\n")));
    }

    private static double CompilerMilliseconds(Compilation project, SyntaxTree original, SyntaxTree changed)
    {
        var compilation = project.ReplaceSyntaxTree(original, changed);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var watch = Stopwatch.StartNew();
        compilation.GetSemanticModel(changed).GetDiagnostics();
        return watch.Elapsed.TotalMilliseconds;
    }

    private static async Task<(double Wall, double Exec)> AnalyzeMillisecondsAsync(Compilation project, SyntaxTree original, SyntaxTree changed, ImmutableArray<DiagnosticAnalyzer> analyzers, AnalyzerOptions analyzerOptions)
    {
        var compilation = project.ReplaceSyntaxTree(original, changed);
        var analysis = compilation.WithAnalyzers(analyzers, Options(analyzerOptions));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var watch = Stopwatch.StartNew();
        var model = compilation.GetSemanticModel(changed);
        model.GetDiagnostics();
        await analysis.GetAnalyzerSyntaxDiagnosticsAsync(changed, CancellationToken.None);
        await analysis.GetAnalyzerSemanticDiagnosticsAsync(model, filterSpan: null, CancellationToken.None);
        var wall = watch.Elapsed.TotalMilliseconds;
        var exec = 0.0;
        foreach (var analyzer in analyzers)
        {
            exec += (await analysis.GetAnalyzerTelemetryInfoAsync(analyzer, CancellationToken.None)).ExecutionTime.TotalMilliseconds;
        }

        return (wall, exec);
    }

    private static CompilationWithAnalyzersOptions Options(AnalyzerOptions analyzerOptions) =>
        new(analyzerOptions, onAnalyzerException: null, concurrentAnalysis: true, logAnalyzerExecutionTime: true);
}
