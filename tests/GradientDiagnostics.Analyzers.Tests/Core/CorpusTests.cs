using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using GradientDiagnostics.CodeFixes;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using Xunit;
using Xunit.Abstractions;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>
/// Measures every analyzer the way an outside reviewer does: over whole, realistic TorchSharp programs
/// (Corpus/Unseen written from DESIGN.md's meaning, Corpus/Public paraphrasing public examples) whose expected
/// diagnostics are annotated in the source with a trailing <c>// expect: GD000N</c> on the reported line.
/// </summary>
/// <remarks>
/// A diagnostic matches an expectation of the same rule on the same line. For GD0001, GD0002 and GD0008 the
/// design leaves the exact line open (step vs. backward; the carrying assignment vs. the call that feeds the
/// state back; loop keyword vs. step), so a diagnostic of those rules that matches no line falls back to an
/// expectation of the same rule in the same enclosing member (method, constructor, property, field, or the
/// top-level statements). A tagged expectation (<c>// expect: GD0006 #name</c>) may list other acceptable lines
/// for the same single diagnostic with <c>// expect-alt: GD0006 #name</c>. Every other diagnostic counts as a false
/// positive; every unmatched expectation as a false negative.
/// </remarks>
public sealed class CorpusTests : IClassFixture<CorpusTests.CorpusFixture>
{
    private const double RequiredPrecision = 0.95;
    private const double RequiredRecall = 0.9;
    private const double RequiredPublicPrecision = 0.85;
    private const double RequiredFixSuccess = 0.9;

    private readonly CorpusFixture corpus;
    private readonly ITestOutputHelper output;

    public CorpusTests(CorpusFixture corpus, ITestOutputHelper output)
    {
        this.corpus = corpus;
        this.output = output;
    }

    public static IEnumerable<object[]> CorpusFiles() => CorpusFixture.FindFiles().Select(file => new object[] { file.RelativePath });

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Corpus_file_compiles_against_TorchSharp_and_net8(string relativePath)
    {
        var file = CorpusFixture.FindFiles().Single(f => f.RelativePath == relativePath);
        var compilation = CorpusFixture.Compile(file.Path, file.Text);
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, $"{relativePath} does not compile:\n" + string.Join("\n", errors));
    }

    [Fact]
    public void Corpus_has_realistic_size_and_every_rule_is_expected_somewhere()
    {
        var unseen = corpus.Results.Where(r => !r.IsPublicStyle).ToList();
        Assert.True(unseen.Count >= 35, $"only {unseen.Count} unseen corpus files");
        Assert.True(corpus.Results.Count(r => r.IsPublicStyle) >= 5, "fewer than 5 public-style corpus files");
        foreach (var rule in CorpusFixture.Rules)
        {
            Assert.True(unseen.Sum(r => r.Expected.Count(e => e.Rule == rule)) >= 3, $"{rule} is expected fewer than 3 times in the unseen corpus");
        }

        Assert.True(unseen.Count(r => r.Expected.Count == 0) >= 8, "fewer than 8 clean programs: precision would go unmeasured");
        Assert.Empty(CorpusFixture.Rules.Except(CorpusFixture.AnalyzedRuleIds));
    }

    [Fact]
    public void Matching_is_driven_by_the_annotations()
    {
        // Guards the harness itself: with its annotations stripped, every diagnostic of an annotated file must count as
        // a false positive, and moving an annotation to a line nothing is reported on must turn its match into an FN.
        var file = CorpusFixture.FindFiles().Single(f => f.RelativePath == "Unseen/CharRnn_VanillaRnnDefaultInit.cs");
        var annotated = CorpusFixture.Evaluate(file);
        Assert.Equal(2, annotated.TruePositives.Count);
        Assert.Empty(annotated.FalsePositives);

        var stripped = CorpusFixture.Evaluate(file with { Text = Regex.Replace(file.Text, @"//\s*expect:[^\n]*", string.Empty) });
        Assert.Empty(stripped.TruePositives);
        Assert.Empty(stripped.FalseNegatives);
        Assert.Equal(annotated.TruePositives.Select(f => (f.Rule, f.Line)), stripped.FalsePositives.Select(f => (f.Rule, f.Line)));

        var moved = CorpusFixture.Evaluate(file with { Text = file.Text.Replace(" // expect: GD0003, GD0005", string.Empty).Replace("RegisterComponents();", "RegisterComponents(); // expect: GD0003") });
        Assert.Equal(new[] { "GD0003" }, moved.FalseNegatives.Select(f => f.Rule));
        Assert.Equal(2, moved.FalsePositives.Count);
    }

    [Fact]
    public void Analyzers_never_throw_on_the_corpus()
    {
        var failures = corpus.Results.SelectMany(r => r.AnalyzerExceptions.Select(e => $"{r.RelativePath}: {e}")).ToList();
        Assert.True(failures.Count == 0, "analyzer exceptions (AD0001):\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Analyzers_meet_precision_and_recall_on_unseen_corpus()
    {
        var tally = Tally(corpus.Results.Where(r => !r.IsPublicStyle));
        Report("corpus-report-unseen.md", "Unseen corpus (precision >= 0.95, recall >= 0.9 per rule)", FormatTable(tally), FormatMismatches(corpus.Results.Where(r => !r.IsPublicStyle)));

        var failing = tally.Where(t => t.Key != "all" && (t.Value.Precision < RequiredPrecision || t.Value.Recall < RequiredRecall))
            .Select(t => $"{t.Key}: precision {t.Value.Precision:F2}, recall {t.Value.Recall:F2} (TP {t.Value.TruePositives}, FP {t.Value.FalsePositives}, FN {t.Value.FalseNegatives})")
            .ToList();
        Assert.True(failing.Count == 0, "rules below the thresholds:\n" + string.Join("\n", failing) + "\n" + FormatMismatches(corpus.Results.Where(r => !r.IsPublicStyle)));
    }

    [Fact]
    public void Analyzers_meet_precision_on_public_style_corpus()
    {
        var tally = Tally(corpus.Results.Where(r => r.IsPublicStyle));
        Report("corpus-report-public.md", "Public-style corpus (precision >= 0.85 over all rules)", FormatTable(tally), FormatMismatches(corpus.Results.Where(r => r.IsPublicStyle)));
        Assert.True(tally["all"].Precision >= RequiredPublicPrecision, $"public-style precision {tally["all"].Precision:F2}\n" + FormatMismatches(corpus.Results.Where(r => r.IsPublicStyle)));
    }

    [Fact]
    public async Task Code_fixes_compile_and_remove_their_diagnostic()
    {
        var outcomes = await corpus.ApplyAllFixesAsync();
        var offered = outcomes.Where(o => o.Offered).ToList();
        var succeeded = offered.Count(o => o.Succeeded);
        var table = new StringBuilder();
        table.AppendLine("| rule | offered | compile, remove the diagnostic, add no other | not offered |");
        table.AppendLine("|---|---|---|---|");
        foreach (var group in outcomes.GroupBy(o => o.Rule).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            table.AppendLine($"| {group.Key} | {group.Count(o => o.Offered)} | {group.Count(o => o.Succeeded)} | {group.Count(o => !o.Offered)} |");
        }

        table.AppendLine($"| all | {offered.Count} | {succeeded} | {outcomes.Count(o => !o.Offered)} |");
        Report("corpus-report-fixes.md", "Code fixes (>= 90% of offered fixes compile, remove their diagnostic and add no other)", table.ToString(),
            string.Join("\n", outcomes.Where(o => !o.Succeeded).Select(o => $"{o.Rule} {o.Location}: {o.Reason}")));

        Assert.NotEmpty(offered);
        var rate = (double)succeeded / offered.Count;
        Assert.True(rate >= RequiredFixSuccess, $"only {succeeded}/{offered.Count} fixes compile and remove their diagnostic:\n"
            + string.Join("\n", outcomes.Where(o => o.Offered && !o.Succeeded).Select(o => $"{o.Rule} {o.Location}: {o.Reason}")));
    }

    /// <summary>Prints a section to the test output and keeps it next to the test assembly for CI artifacts.</summary>
    private void Report(string fileName, string title, string table, string details)
    {
        var text = $"## {title}\n\n{table}\n{details}\n";
        output.WriteLine(text);
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, fileName), text);
    }

    private static Dictionary<string, RuleTally> Tally(IEnumerable<FileResult> results)
    {
        var tally = CorpusFixture.Rules.ToDictionary(r => r, _ => new RuleTally(), StringComparer.Ordinal);
        tally["all"] = new RuleTally();
        foreach (var result in results)
        {
            foreach (var rule in CorpusFixture.Rules)
            {
                var tp = result.TruePositives.Count(m => m.Rule == rule);
                var fp = result.FalsePositives.Count(m => m.Rule == rule);
                var fn = result.FalseNegatives.Count(m => m.Rule == rule);
                tally[rule].Add(tp, fp, fn);
                tally["all"].Add(tp, fp, fn);
            }
        }

        return tally;
    }

    internal static string FormatTable(Dictionary<string, RuleTally> tally)
    {
        var text = new StringBuilder();
        text.AppendLine("| rule | TP | FP | FN | precision | recall |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var (rule, t) in tally)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {rule} | {t.TruePositives} | {t.FalsePositives} | {t.FalseNegatives} | {t.Precision:F2} | {t.Recall:F2} |"));
        }

        return text.ToString();
    }

    internal static string FormatMismatches(IEnumerable<FileResult> results)
    {
        var text = new StringBuilder();
        foreach (var result in results)
        {
            foreach (var fp in result.FalsePositives)
            {
                text.AppendLine($"FP {fp.Rule} {result.RelativePath}:{fp.Line} in {fp.Member}: {fp.Message}");
            }

            foreach (var fn in result.FalseNegatives)
            {
                text.AppendLine($"FN {fn.Rule} {result.RelativePath}:{fn.Line} in {fn.Member}: {fn.Message}");
            }
        }

        return text.ToString();
    }

    internal sealed class RuleTally
    {
        public int TruePositives { get; private set; }

        public int FalsePositives { get; private set; }

        public int FalseNegatives { get; private set; }

        // A rule that reports nothing has made no false claim; a rule with nothing to find has missed nothing.
        public double Precision => TruePositives + FalsePositives == 0 ? 1.0 : (double)TruePositives / (TruePositives + FalsePositives);

        public double Recall => TruePositives + FalseNegatives == 0 ? 1.0 : (double)TruePositives / (TruePositives + FalseNegatives);

        public void Add(int tp, int fp, int fn)
        {
            TruePositives += tp;
            FalsePositives += fp;
            FalseNegatives += fn;
        }
    }

    public sealed record CorpusFile(string Path, string RelativePath, string Text)
    {
        public bool IsPublicStyle => RelativePath.StartsWith("Public", StringComparison.Ordinal);
    }

    public sealed record Finding(string Rule, int Line, string Member, string Message, string? Tag = null)
    {
        public ImmutableList<int> AlternativeLines { get; init; } = ImmutableList<int>.Empty;

        public ImmutableList<string> AlternativeMembers { get; init; } = ImmutableList<string>.Empty;
    }

    public sealed record FileResult(
        string RelativePath,
        bool IsPublicStyle,
        IReadOnlyList<Finding> Expected,
        IReadOnlyList<Finding> TruePositives,
        IReadOnlyList<Finding> FalsePositives,
        IReadOnlyList<Finding> FalseNegatives,
        IReadOnlyList<string> AnalyzerExceptions);

    public sealed record FixOutcome(string Rule, string Location, bool Offered, bool Succeeded, string Reason);

    /// <summary>Analyzes the whole corpus once for all tests.</summary>
    public sealed class CorpusFixture
    {
        public static readonly ImmutableArray<string> Rules = ImmutableArray.Create(
            "GD0001", "GD0002", "GD0003", "GD0004", "GD0005", "GD0006", "GD0007", "GD0008", "GD0009", "GD0010");

        private static readonly ImmutableHashSet<string> LineFlexibleRules = ImmutableHashSet.Create("GD0001", "GD0002", "GD0008");

        private static readonly Regex Expectation = new(@"//\s*expect:\s*(?<ids>GD\d{4}(\s*,\s*GD\d{4})*)(\s+#(?<tag>[\w-]+))?", RegexOptions.Compiled);

        // A tagged expectation may name other acceptable lines for the same single diagnostic, e.g. a misplaced clip
        // inside a helper can fairly be reported on the clip or on the call of the helper: `// expect-alt: GD0006 #tag`.
        private static readonly Regex Alternative = new(@"//\s*expect-alt:\s*(?<id>GD\d{4})\s+#(?<tag>[\w-]+)", RegexOptions.Compiled);

        private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

        // The same .NET 8 reference assemblies the analyzer tests use (Basic.Reference.Assemblies needs Roslyn 4.11,
        // newer than the 4.8 the analyzers target), plus the real TorchSharp.dll.
        private static readonly Lazy<ImmutableArray<MetadataReference>> LazyReferences = new(() =>
            TorchSharpReferences.Net80.ResolveAsync(LanguageNames.CSharp, CancellationToken.None).GetAwaiter().GetResult()
                .Add(TorchSharpReferences.TorchSharp));

        /// <summary>
        /// A program that uses the watch (<c>using GradientDiagnostics;</c>) is a project with the runtime package, where
        /// GD0010 speaks; every other program is compiled without it, as a project that never installed it.
        /// </summary>
        private static ImmutableArray<MetadataReference> ReferencesFor(SyntaxTree tree) =>
            tree.GetCompilationUnitRoot().Usings.Any(u => u.Name?.ToString() == "GradientDiagnostics")
                ? LazyReferences.Value.Add(TorchSharpReferences.Runtime)
                : LazyReferences.Value;

        private static readonly ImmutableArray<DiagnosticAnalyzer> Analyzers = typeof(GradientDiagnosticsAnalyzer).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && t.IsDefined(typeof(DiagnosticAnalyzerAttribute), inherit: false))
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
            .ToImmutableArray();

        private static readonly ImmutableArray<CodeFixProvider> Fixers = typeof(DefaultRecurrentInitializationFixer).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(CodeFixProvider).IsAssignableFrom(t) && t.IsDefined(typeof(ExportCodeFixProviderAttribute), inherit: false))
            .Select(t => (CodeFixProvider)Activator.CreateInstance(t)!)
            .ToImmutableArray();

        /// <summary>The rule ids the discovered analyzers can report: an analyzer missed by discovery must not pass as perfect precision.</summary>
        public static IEnumerable<string> AnalyzedRuleIds => Analyzers.SelectMany(a => a.SupportedDiagnostics).Select(d => d.Id).Distinct();

        private readonly Lazy<IReadOnlyList<FileResult>> results;

        public CorpusFixture()
        {
            results = new Lazy<IReadOnlyList<FileResult>>(() => FindFiles().Select(Evaluate).ToList());
        }

        public IReadOnlyList<FileResult> Results => results.Value;

        public static IReadOnlyList<CorpusFile> FindFiles()
        {
            var root = Path.Combine(AppContext.BaseDirectory, "Corpus");
            if (!Directory.Exists(root))
            {
                throw new DirectoryNotFoundException($"corpus directory '{root}' is missing from the test output");
            }

            return Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories)
                .OrderBy(p => p, StringComparer.Ordinal)
                .Select(p => new CorpusFile(p, Path.GetRelativePath(root, p).Replace('\\', '/'), File.ReadAllText(p)))
                .ToList();
        }

        public static CSharpCompilation Compile(string path, string text)
        {
            var tree = CSharpSyntaxTree.ParseText(text, ParseOptions, path);
            return CSharpCompilation.Create(Path.GetFileNameWithoutExtension(path), new[] { tree }, ReferencesFor(tree), CompilationOptionsFor(tree));
        }

        private static CSharpCompilationOptions CompilationOptionsFor(SyntaxTree tree)
        {
            var kind = tree.GetRoot().DescendantNodes().OfType<GlobalStatementSyntax>().Any() ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary;
            return new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable);
        }

        private static async Task<(ImmutableArray<Diagnostic> Diagnostics, IReadOnlyList<string> Exceptions)> AnalyzeAsync(Compilation compilation)
        {
            var exceptions = new ConcurrentQueue<string>();
            var options = new CompilationWithAnalyzersOptions(
                new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
                (exception, analyzer, _) => exceptions.Enqueue($"{analyzer.GetType().Name}: {exception.GetType().Name}: {exception.Message}"),
                concurrentAnalysis: true,
                logAnalyzerExecutionTime: false);
            var diagnostics = await compilation.WithAnalyzers(Analyzers, options).GetAnalyzerDiagnosticsAsync(CancellationToken.None);
            foreach (var crash in diagnostics.Where(d => d.Id == "AD0001"))
            {
                exceptions.Enqueue(crash.GetMessage(CultureInfo.InvariantCulture));
            }

            return (diagnostics.Where(d => Rules.Contains(d.Id)).ToImmutableArray(), exceptions.ToList());
        }

        internal static FileResult Evaluate(CorpusFile file)
        {
            var compilation = Compile(file.Path, file.Text);
            var tree = compilation.SyntaxTrees.Single();
            var root = tree.GetRoot();
            var (diagnostics, exceptions) = AnalyzeAsync(compilation).GetAwaiter().GetResult();

            var expected = new List<Finding>();
            var alternatives = new List<(string Rule, string Tag, int Line, string Member)>();
            foreach (var line in tree.GetText().Lines)
            {
                var text = line.ToString();
                var lineNumber = line.LineNumber + 1;
                var alternative = Alternative.Match(text);
                if (alternative.Success)
                {
                    alternatives.Add((alternative.Groups["id"].Value, alternative.Groups["tag"].Value, lineNumber, MemberAt(root, line.Span)));
                    continue;
                }

                var match = Expectation.Match(text);
                if (!match.Success)
                {
                    continue;
                }

                var tag = match.Groups["tag"].Success ? match.Groups["tag"].Value : null;
                foreach (var id in match.Groups["ids"].Value.Split(',').Select(s => s.Trim()))
                {
                    expected.Add(new Finding(id, lineNumber, MemberAt(root, line.Span), "expected", tag));
                }
            }

            foreach (var alternative in alternatives)
            {
                var owner = expected.SingleOrDefault(e => e.Rule == alternative.Rule && e.Tag == alternative.Tag)
                    ?? throw new InvalidDataException($"{file.RelativePath}:{alternative.Line}: expect-alt {alternative.Rule} #{alternative.Tag} has no matching tagged expect");
                expected[expected.IndexOf(owner)] = owner with
                {
                    AlternativeLines = owner.AlternativeLines.Add(alternative.Line),
                    AlternativeMembers = owner.AlternativeMembers.Add(alternative.Member),
                };
            }

            var actual = diagnostics
                .Select(d => new Finding(d.Id, d.Location.GetLineSpan().StartLinePosition.Line + 1, MemberAt(root, d.Location.SourceSpan), d.GetMessage(CultureInfo.InvariantCulture)))
                .ToList();

            var unmatchedExpected = expected.ToList();
            var unmatchedActual = new List<Finding>();
            var truePositives = new List<Finding>();
            foreach (var finding in actual)
            {
                var hit = unmatchedExpected.FirstOrDefault(e => e.Rule == finding.Rule && (e.Line == finding.Line || e.AlternativeLines.Contains(finding.Line)));
                if (hit is not null)
                {
                    unmatchedExpected.Remove(hit);
                    truePositives.Add(finding);
                }
                else
                {
                    unmatchedActual.Add(finding);
                }
            }

            var falsePositives = new List<Finding>();
            foreach (var finding in unmatchedActual)
            {
                var hit = LineFlexibleRules.Contains(finding.Rule)
                    ? unmatchedExpected.FirstOrDefault(e => e.Rule == finding.Rule && (e.Member == finding.Member || e.AlternativeMembers.Contains(finding.Member)))
                    : null;
                if (hit is not null)
                {
                    unmatchedExpected.Remove(hit);
                    truePositives.Add(finding);
                }
                else
                {
                    falsePositives.Add(finding);
                }
            }

            return new FileResult(file.RelativePath, file.IsPublicStyle, expected, truePositives, falsePositives, unmatchedExpected, exceptions);
        }

        private static string MemberAt(SyntaxNode root, TextSpan span)
        {
            var node = root.FindNode(span, getInnermostNodeForTie: true);
            var member = node.AncestorsAndSelf().FirstOrDefault(n =>
                n is BaseMethodDeclarationSyntax or PropertyDeclarationSyntax or FieldDeclarationSyntax or IndexerDeclarationSyntax or EventDeclarationSyntax);
            return member switch
            {
                BaseMethodDeclarationSyntax or PropertyDeclarationSyntax or FieldDeclarationSyntax or IndexerDeclarationSyntax or EventDeclarationSyntax =>
                    $"{member.FirstAncestorOrSelf<BaseTypeDeclarationSyntax>()?.Identifier.Text}.{MemberName(member)}",
                _ => "<top-level statements>",
            };
        }

        private static string MemberName(SyntaxNode member) => member switch
        {
            MethodDeclarationSyntax m => m.Identifier.Text,
            ConstructorDeclarationSyntax c => c.Identifier.Text + "()",
            PropertyDeclarationSyntax p => p.Identifier.Text,
            FieldDeclarationSyntax f => string.Join(",", f.Declaration.Variables.Select(v => v.Identifier.Text)),
            _ => member.Kind().ToString() + "@" + member.SpanStart.ToString(CultureInfo.InvariantCulture),
        };

        /// <summary>For every reported diagnostic whose rule has a fixer: apply the first offered fix, recompile, re-analyze.</summary>
        public async Task<IReadOnlyList<FixOutcome>> ApplyAllFixesAsync()
        {
            var outcomes = new List<FixOutcome>();
            foreach (var file in FindFiles())
            {
                using var workspace = new AdhocWorkspace();
                var tree = CSharpSyntaxTree.ParseText(file.Text, ParseOptions, file.Path);
                var projectId = ProjectId.CreateNewId();
                var documentId = DocumentId.CreateNewId(projectId);
                var solution = workspace.CurrentSolution
                    .AddProject(ProjectInfo.Create(projectId, VersionStamp.Create(), file.RelativePath, "Corpus", LanguageNames.CSharp,
                        compilationOptions: CompilationOptionsFor(tree), parseOptions: ParseOptions, metadataReferences: ReferencesFor(tree)))
                    .AddDocument(documentId, Path.GetFileName(file.Path), SourceText.From(file.Text), filePath: file.Path);
                var document = solution.GetDocument(documentId)!;
                var compilation = (await document.Project.GetCompilationAsync())!;
                var (diagnostics, _) = await AnalyzeAsync(compilation);
                foreach (var diagnostic in diagnostics)
                {
                    var fixer = Fixers.FirstOrDefault(f => f.FixableDiagnosticIds.Contains(diagnostic.Id));
                    if (fixer is null)
                    {
                        continue;
                    }

                    outcomes.Add(await ApplyFixAsync(file, document, diagnostic, fixer, diagnostics));
                }
            }

            return outcomes;
        }

        private static async Task<FixOutcome> ApplyFixAsync(CorpusFile file, Document document, Diagnostic diagnostic, CodeFixProvider fixer, ImmutableArray<Diagnostic> before)
        {
            var countBefore = before.Count(d => d.Id == diagnostic.Id);
            var location = $"{file.RelativePath}:{diagnostic.Location.GetLineSpan().StartLinePosition.Line + 1}";
            var actions = new List<CodeAction>();
            try
            {
                await fixer.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None));
                if (actions.Count == 0)
                {
                    return new FixOutcome(diagnostic.Id, location, Offered: false, Succeeded: false, "no code action offered");
                }

                var operations = await actions[0].GetOperationsAsync(CancellationToken.None);
                var changed = operations.OfType<ApplyChangesOperation>().SingleOrDefault()?.ChangedSolution;
                if (changed is null)
                {
                    return new FixOutcome(diagnostic.Id, location, true, false, "the code action changes no solution");
                }

                var fixedCompilation = (await changed.GetProject(document.Project.Id)!.GetCompilationAsync())!;
                var errors = fixedCompilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
                if (errors.Count > 0)
                {
                    return new FixOutcome(diagnostic.Id, location, true, false, "fixed code does not compile: " + errors[0]);
                }

                var (after, exceptions) = await AnalyzeAsync(fixedCompilation);
                if (exceptions.Count > 0)
                {
                    return new FixOutcome(diagnostic.Id, location, true, false, "analyzer threw on fixed code: " + exceptions[0]);
                }

                var countAfter = after.Count(d => d.Id == diagnostic.Id);
                if (countAfter >= countBefore)
                {
                    return new FixOutcome(diagnostic.Id, location, true, false, $"{diagnostic.Id} still reported {countAfter} times (before: {countBefore})");
                }

                // A fix that trades its diagnostic for new ones (a clip inserted after step, a threshold out of range) has not fixed
                // anything. Counted over the other rules together: swapping a default-initialised RNN for a GRU (GD0005) rightly
                // turns its GD0003 into GD0004 — the same missing initialisation, not a new problem.
                var otherBefore = before.Count(d => d.Id != diagnostic.Id);
                var otherAfter = after.Count(d => d.Id != diagnostic.Id);
                return otherAfter <= otherBefore
                    ? new FixOutcome(diagnostic.Id, location, true, true, "ok")
                    : new FixOutcome(diagnostic.Id, location, true, false, $"the fix adds diagnostics of other rules ({otherBefore} before, {otherAfter} after: "
                        + string.Join(", ", after.Where(d => d.Id != diagnostic.Id).Select(d => d.Id).Distinct().OrderBy(id => id, StringComparer.Ordinal)) + ")");
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                return new FixOutcome(diagnostic.Id, location, actions.Count > 0, false, $"fixer threw {exception.GetType().Name}: {exception.Message}");
            }
        }
    }
}
