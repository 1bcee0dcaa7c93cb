using System.Reflection;
using System.Text.RegularExpressions;
using GradientDiagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;

namespace GradientDiagnostics.Analyzers.Tests.Core;

/// <summary>One catalog: every descriptor has an id constant, a doc page, a help link and a release entry, and every analyzer and fix stays inside it.</summary>
public class CatalogTests
{
    public static TheoryData<string> DescriptorIds { get; } = new(AnalyzerCatalog.Descriptors.Select(d => d.Id));

    [Fact]
    public void The_catalog_has_one_descriptor_per_rule_identifier_and_no_duplicates()
    {
        var identifiers = typeof(RuleIdentifiers).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .Select(f => (string)f.GetRawConstantValue()!)
            .OrderBy(id => id, StringComparer.Ordinal);
        var ids = AnalyzerCatalog.Descriptors.Select(d => d.Id).ToList();

        Assert.Equal(ids.Distinct().Count(), ids.Count);
        Assert.Equal(identifiers, ids.OrderBy(id => id, StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(DescriptorIds))]
    public void Every_descriptor_has_a_doc_page_named_by_its_id(string id)
    {
        var page = Path.Combine(AnalyzerCatalog.RepositoryRoot, "docs", "rules", id + ".md");
        Assert.True(File.Exists(page), $"{id} has no documentation page at {page}");
        var title = File.ReadLines(page).FirstOrDefault() ?? string.Empty;
        Assert.StartsWith($"# {id}", title, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(DescriptorIds))]
    public void Every_descriptor_help_link_is_computed_from_its_id(string id)
    {
        var descriptor = Descriptor(id);
        Assert.Equal(DiagnosticDescriptors.HelpLink(id), descriptor.HelpLinkUri);
        Assert.EndsWith($"/docs/rules/{id}.md", descriptor.HelpLinkUri, StringComparison.Ordinal);
        Assert.True(descriptor.IsEnabledByDefault, $"{id} is not enabled by default");
        Assert.False(string.IsNullOrWhiteSpace(descriptor.Description.ToString()), $"{id} has no description");
    }

    [Theory]
    [MemberData(nameof(DescriptorIds))]
    public void Every_descriptor_has_one_release_entry_with_its_category_and_severity(string id)
    {
        var descriptor = Descriptor(id);
        var entry = Assert.Single(ReleaseEntries(), e => e.Id == id);
        Assert.Equal(descriptor.Category, entry.Category);
        Assert.Equal(descriptor.DefaultSeverity.ToString(), entry.Severity);
    }

    [Fact]
    public void Every_release_entry_names_a_catalogued_descriptor()
    {
        var ids = AnalyzerCatalog.Descriptors.Select(d => d.Id).ToHashSet();
        Assert.All(ReleaseEntries(), entry => Assert.Contains(entry.Id, ids));
    }

    [Fact]
    public void Every_rule_doc_page_documents_a_catalogued_descriptor()
    {
        var ids = AnalyzerCatalog.Descriptors.Select(d => d.Id).ToHashSet();
        var pages = Directory.GetFiles(Path.Combine(AnalyzerCatalog.RepositoryRoot, "docs", "rules"), "*.md")
            .Select(page => Path.GetFileNameWithoutExtension(page));
        Assert.All(pages, page => Assert.Contains(page, ids));
    }

    [Fact]
    public void Every_analyzer_is_a_loadable_CSharp_analyzer_that_supports_only_catalogued_descriptors()
    {
        Assert.NotEmpty(AnalyzerCatalog.AnalyzerTypes);
        foreach (var type in AnalyzerCatalog.AnalyzerTypes)
        {
            var attribute = type.GetCustomAttribute<DiagnosticAnalyzerAttribute>();
            Assert.True(attribute is not null, $"{type.Name} has no [DiagnosticAnalyzer] attribute, so no host loads it");
            Assert.Equal([LanguageNames.CSharp], attribute!.Languages);

            var analyzer = (DiagnosticAnalyzer)Activator.CreateInstance(type)!;
            Assert.NotEmpty(analyzer.SupportedDiagnostics);
            Assert.All(analyzer.SupportedDiagnostics, d => Assert.Contains(d, AnalyzerCatalog.Descriptors));
        }
    }

    [Theory]
    [MemberData(nameof(DescriptorIds))]
    public void Every_descriptor_is_supported_by_an_analyzer(string id)
    {
        var supporting = AnalyzerCatalog.CreateAnalyzers()
            .Where(a => a.SupportedDiagnostics.Any(d => d.Id == id))
            .Select(a => a.GetType().Name)
            .ToList();
        Assert.True(supporting.Count > 0, $"no analyzer in {AnalyzerCatalog.AnalyzerAssembly.GetName().Name} supports {id}");
    }

    [Fact]
    public void Every_code_fix_is_exported_for_CSharp_and_fixes_only_catalogued_ids_that_an_analyzer_reports()
    {
        var supported = AnalyzerCatalog.CreateAnalyzers().SelectMany(a => a.SupportedDiagnostics).Select(d => d.Id).ToHashSet();
        foreach (var type in AnalyzerCatalog.CodeFixTypes)
        {
            var export = type.GetCustomAttribute<ExportCodeFixProviderAttribute>();
            Assert.True(export is not null, $"{type.Name} has no [ExportCodeFixProvider] attribute, so no IDE offers it");
            Assert.Contains(LanguageNames.CSharp, export!.Languages);

            var fixer = (CodeFixProvider)Activator.CreateInstance(type)!;
            Assert.NotEmpty(fixer.FixableDiagnosticIds);
            Assert.All(fixer.FixableDiagnosticIds, id => Assert.Contains(id, supported));
        }
    }

    private static DiagnosticDescriptor Descriptor(string id) => AnalyzerCatalog.Descriptors.Single(d => d.Id == id);

    private static readonly Regex ReleaseRow = new(@"^\s*(?<id>[A-Z]+\d+)\s*\|\s*(?<category>[^|]*?)\s*\|\s*(?<severity>[^|]*?)\s*\|", RegexOptions.CultureInvariant);

    /// <summary>Rule rows of AnalyzerReleases.Shipped.md and .Unshipped.md (the format Microsoft.CodeAnalysis.Analyzers' release tracking reads).</summary>
    private static List<(string Id, string Category, string Severity)> ReleaseEntries()
    {
        var directory = Path.Combine(AnalyzerCatalog.RepositoryRoot, "src", "GradientDiagnostics.Analyzers");
        return new[] { "AnalyzerReleases.Shipped.md", "AnalyzerReleases.Unshipped.md" }
            .SelectMany(file => File.ReadLines(Path.Combine(directory, file)))
            .Select(line => ReleaseRow.Match(line))
            .Where(m => m.Success)
            .Select(m => (m.Groups["id"].Value, m.Groups["category"].Value, m.Groups["severity"].Value))
            .ToList();
    }
}
