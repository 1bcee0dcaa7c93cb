using System.Reflection;
using System.Text.RegularExpressions;
using GradientDiagnostics.Reporting;

namespace GradientDiagnostics.Package.Tests;

/// <summary>Every option name README.md and docs/*.md mention exists in the code, and docs/runtime.md lists every option.</summary>
public partial class DocumentedOptionsTests
{
    private static readonly Type[] OptionTypes = { typeof(GradientWatchOptions), typeof(GradientReportOptions), typeof(AdaptiveClippingOptions) };

    [Fact]
    public void Every_option_the_documents_name_is_a_public_property_of_its_options_type()
    {
        var mentions = DocSnippets.Documents().SelectMany(Mentions).ToList();
        Assert.Contains(mentions, m => m.Type == nameof(GradientWatchOptions) && m.Option == nameof(GradientWatchOptions.LoggerFactory));

        var unknown = mentions.Where(m => OptionTypes.Single(t => t.Name == m.Type).GetProperty(m.Option, BindingFlags.Public | BindingFlags.Instance) is null).ToList();
        Assert.True(unknown.Count == 0, "Options the documents name but the code does not have:\n"
            + string.Join("\n", unknown.Select(m => $"{m.Where}: {m.Type}.{m.Option}")));
    }

    [Fact]
    public void The_options_table_of_the_runtime_guide_lists_exactly_the_properties_of_GradientWatchOptions()
    {
        var guide = File.ReadAllText(Path.Combine(Repository.Root, "docs", "runtime.md"));
        var section = Regex.Match(guide, @"^## Options\s*$(?<body>.*?)(?=^## )", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(section.Success, "docs/runtime.md has no '## Options' section followed by another section");
        var listed = OptionRow().Matches(section.Groups["body"].Value).Select(m => m.Groups["name"].Value).ToHashSet();
        var properties = typeof(GradientWatchOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).ToHashSet();

        Assert.True(listed.SetEquals(properties),
            $"docs/runtime.md lists [{string.Join(", ", listed.Order())}]; GradientWatchOptions has [{string.Join(", ", properties.Order())}]");
    }

    private static IEnumerable<(string Where, string Type, string Option)> Mentions(string document)
    {
        var where = Path.GetRelativePath(Repository.Root, document);
        var text = File.ReadAllText(document);
        var types = string.Join('|', OptionTypes.Select(t => t.Name));
        foreach (Match member in Regex.Matches(text, $@"\b(?<type>{types})\.(?<option>[A-Z]\w*)"))
        {
            yield return (where, member.Groups["type"].Value, member.Groups["option"].Value);
        }

        foreach (Match initializer in Regex.Matches(text, $@"\bnew (?<type>{types})\s*(\(\s*\))?\s*\{{(?<body>[^{{}}]*)\}}"))
        {
            foreach (Match assignment in Regex.Matches(initializer.Groups["body"].Value, @"(?:^|,)\s*(?<option>[A-Za-z_]\w*)\s*=(?![=>])"))
            {
                yield return (where, initializer.Groups["type"].Value, assignment.Groups["option"].Value);
            }
        }
    }

    [GeneratedRegex(@"^\| `(?<name>\w+)` \|", RegexOptions.Multiline)]
    private static partial Regex OptionRow();
}
