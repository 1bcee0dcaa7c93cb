using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using GradientDiagnostics.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// A codebase the analyzers are measured on: its syntax trees, the references and options it compiles with, and the
/// documents the IDE measure edits. <c>clean</c>, <c>mixed</c> and <c>dense</c> are generated (tests/Shared); anything
/// else is a list of folders of C# code on disk (e.g. a fetched public TorchSharp project), compiled as one assembly
/// against TorchSharp and the given references.
/// </summary>
public sealed class Corpus
{
    private static readonly string[] CleanEdits = ["SequenceTrainer", "StatefulTrainer", "SequenceModel", "UnrolledCellModel", "FeedForwardModel", "TrainingUtilities"];
    private static readonly string[] DenseEdits = ["TbpttTrainer", "CellTrainer", "StreamingTrainer", "LanguageModel", "AccumulatingTrainer", "TrainingUtilities"];

    // What `<ImplicitUsings>enable</ImplicitUsings>` adds to an SDK project.
    private const string ImplicitUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    private Corpus(string description, string assemblyName, ImmutableArray<SyntaxTree> trees, ImmutableArray<MetadataReference> references, CSharpCompilationOptions options, ImmutableArray<SyntaxTree> edited)
    {
        Description = description;
        AssemblyName = assemblyName;
        Trees = trees;
        References = references;
        Options = options;
        EditedDocuments = edited;
    }

    public string Description { get; }

    /// <summary>The compilation's assembly name: a fetched project may need its own to see its dependencies' internals.</summary>
    public string AssemblyName { get; }

    public ImmutableArray<SyntaxTree> Trees { get; }

    public ImmutableArray<MetadataReference> References { get; }

    public CSharpCompilationOptions Options { get; }

    /// <summary>The documents the one-edited-document (IDE) measure edits, one at a time.</summary>
    public ImmutableArray<SyntaxTree> EditedDocuments { get; }

    /// <summary>A fresh compilation of the corpus: Roslyn caches binding per compilation, so each measurement takes a new one.</summary>
    public CSharpCompilation Compile() => CSharpCompilation.Create(AssemblyName, Trees, References, Options);

    /// <summary>
    /// <paramref name="spec"/> is <c>clean</c>, <c>mixed</c>, <c>dense</c>, or folders separated by the path separator. A
    /// folder corpus keeps only the files that compile (<paramref name="onlyCompiling"/>, for measures that emit): files with
    /// errors are dropped until none are left, since a fetched project's other dependencies are not there. A project whose
    /// dependencies grant it their internals (<c>InternalsVisibleTo</c>) compiles under its own <paramref name="assemblyName"/>,
    /// public-signed with the <paramref name="publicKey"/> (hex) they name.
    /// </summary>
    public static Corpus Load(string spec, IReadOnlyList<string> references, string? assemblyName, string? publicKey, bool onlyCompiling, TextWriter log)
    {
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, concurrentBuild: true);
        switch (spec)
        {
            case "clean" or "mixed":
                var generated = TrainingCodebase.Parse(TrainingCodebase.Generate(AnalyzerOverheadBenchmarks.MinimumFiles, spec == "clean"));
                return new Corpus($"{spec} generated codebase", "Codebase", generated, TrainingCodebase.References, options, Edited(generated, CleanEdits));
            case "dense":
                var dense = TrainingCodebase.Parse(DenseTrainingCodebase.Generate(AnalyzerOverheadBenchmarks.MinimumFiles));
                return new Corpus("dense generated codebase (all recurrent training code, all correct)", "Codebase", dense, DenseTrainingCodebase.References, options, Edited(dense, DenseEdits));
        }

        var folders = spec.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Select(f => Path.TrimEndingDirectorySeparator(f)).ToArray();
        foreach (var folder in folders.Where(f => !Directory.Exists(f)))
        {
            throw new DirectoryNotFoundException($"Corpus folder '{folder}' does not exist (--corpus takes clean, mixed, dense or folders of C# code).");
        }

        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var files = folders.SelectMany(f => Directory.GetFiles(f, "*.cs", SearchOption.AllDirectories))
            .Where(path => !path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal)
            .Select(path => CSharpSyntaxTree.ParseText(File.ReadAllText(path), parse, path))
            .ToList();
        if (folders.Any(EnablesImplicitUsings))
        {
            files.Add(CSharpSyntaxTree.ParseText(ImplicitUsings, parse, "GlobalUsings.g.cs"));
        }

        // A fetched project is compiled as it is built: without GradientDiagnostics.Runtime unless a --reference brings it.
        var allReferences = TrainingCodebase.TorchSharpReferences.AddRange(references.SelectMany(ReferencesAt));
        var topLevel = files.Any(tree => tree.GetCompilationUnitRoot().Members.Any(member => member is GlobalStatementSyntax));
        options = options.WithOutputKind(topLevel ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary).WithAllowUnsafe(true);
        if (publicKey is not null)
        {
            options = options.WithPublicSign(true).WithCryptoPublicKey(Convert.FromHexString(publicKey).ToImmutableArray());
        }

        assemblyName ??= "Codebase";
        var kept = files.ToImmutableArray();
        var total = kept.Length;
        for (var round = 0; onlyCompiling && round < 30; round++)
        {
            var broken = CSharpCompilation.Create(assemblyName, kept, allReferences, options).GetDiagnostics()
                .Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.IsInSource)
                .Select(d => d.Location.SourceTree!)
                .ToHashSet();
            if (broken.Count == 0)
            {
                break;
            }

            kept = kept.Where(tree => !broken.Contains(tree)).ToImmutableArray();
        }

        var lines = kept.Sum(t => t.GetText().Lines.Count);
        log.WriteLine($"Corpus {string.Join(", ", folders)}: {kept.Length} of {total} files{(onlyCompiling ? " compile and are kept" : string.Empty)}, {lines} lines, {references.Count} extra reference paths");
        var edited = kept.Where(t => t.GetRoot().DescendantNodes().OfType<TypeDeclarationSyntax>().Any())
            .OrderByDescending(t => t.GetText().Length).Take(6).ToImmutableArray();
        return new Corpus($"{string.Join(", ", folders.Select(Path.GetFileName))} ({kept.Length} files)", assemblyName, kept, allReferences, options, edited);
    }

    private static ImmutableArray<SyntaxTree> Edited(ImmutableArray<SyntaxTree> trees, string[] kinds) => kinds
        .Select(kind => trees.Where(t => Path.GetFileName(t.FilePath).StartsWith(kind, StringComparison.Ordinal)).Skip(20).First())
        .ToImmutableArray();

    private static bool EnablesImplicitUsings(string folder) =>
        Directory.GetFiles(folder, "*.csproj", SearchOption.AllDirectories).Any(project => File.ReadAllText(project).Contains("<ImplicitUsings>enable</ImplicitUsings>", StringComparison.OrdinalIgnoreCase));

    /// <summary>A reference assembly, or every managed assembly in a folder (e.g. the output of a project that restores a corpus's packages).</summary>
    private static IEnumerable<MetadataReference> ReferencesAt(string path)
    {
        if (File.Exists(path))
        {
            return [MetadataReference.CreateFromFile(path)];
        }

        if (!Directory.Exists(path))
        {
            throw new FileNotFoundException($"Reference '{path}' is neither an assembly nor a folder.", path);
        }

        // A restored project's output folder also holds TorchSharp and framework assemblies: those come from the corpus's own references.
        var present = TrainingCodebase.TorchSharpReferences.OfType<PortableExecutableReference>().Select(r => Path.GetFileName(r.FilePath)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return Directory.GetFiles(path, "*.dll")
            .Where(p => !present.Contains(Path.GetFileName(p)) && IsManagedAssembly(p))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p));
    }

    private static bool IsManagedAssembly(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new PEReader(stream);
        return reader.HasMetadata && reader.GetMetadataReader().IsAssembly;
    }
}
