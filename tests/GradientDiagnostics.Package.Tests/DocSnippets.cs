using System.Text.RegularExpressions;

namespace GradientDiagnostics.Package.Tests;

/// <summary>A package a document tells the reader to add: <c>dotnet add package Id --version Version</c>.</summary>
public sealed record DocPackage(string Id, string? Version);

/// <summary>A fenced C# block of a document marked runnable, with the packages the document told the reader to add before it.</summary>
public sealed record DocSnippet(string Document, int Line, string Code, IReadOnlyList<DocPackage> Packages)
{
    /// <summary>Where it is, as a reader finds it: README.md:123.</summary>
    public string Location => $"{Path.GetRelativePath(Repository.Root, Document)}:{Line}";

    public string ProjectName => "Snippet_" + Regex.Replace(Path.GetFileNameWithoutExtension(Document), "[^A-Za-z0-9]", "_") + "_" + Line;
}

/// <summary>
/// Finds the runnable code blocks of README.md and docs/*.md (see docs/contributing.md): a fenced block whose info string
/// is <c>csharp runnable</c> is a complete program. Its packages are every <c>dotnet add package</c> line in the shell
/// blocks above it in the same document, so a document must name each package its programs need, with its version.
/// </summary>
public static partial class DocSnippets
{
    public const string RunnableInfoString = "csharp runnable";

    public static IEnumerable<string> Documents() =>
        Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md", SearchOption.AllDirectories)
            .Prepend(Path.Combine(Repository.Root, "README.md"))
            .Order(StringComparer.Ordinal);

    public static IReadOnlyList<DocSnippet> Runnable() => Documents().SelectMany(Runnable).ToList();

    public static IEnumerable<DocSnippet> Runnable(string document)
    {
        var packages = new List<DocPackage>();
        foreach (var (info, line, code) in FencedBlocks(File.ReadAllLines(document)))
        {
            if (info is "sh" or "shell" or "bash" or "console")
            {
                packages.AddRange(AddPackage().Matches(code).Select(m => new DocPackage(m.Groups["id"].Value, m.Groups["version"].Success ? m.Groups["version"].Value : null)));
            }
            else if (info == RunnableInfoString)
            {
                yield return new DocSnippet(document, line, code, packages.ToList());
            }
        }
    }

    /// <summary>The info string, the line the block's code starts on (1-based) and the code of every fenced block.</summary>
    private static IEnumerable<(string Info, int Line, string Code)> FencedBlocks(string[] lines)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            var fence = open.Groups["fence"].Value;
            var start = i + 1;
            var end = start;
            while (end < lines.Length && !(lines[end].TrimStart().StartsWith(fence, StringComparison.Ordinal) && lines[end].Trim().Trim(fence[0]).Length == 0))
            {
                end++;
            }

            yield return (open.Groups["info"].Value.Trim(), start + 1, string.Join("\n", lines[start..end]) + "\n");
            i = end;
        }
    }

    [GeneratedRegex(@"^\s{0,3}(?<fence>```+|~~~+)(?<info>.*)$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"dotnet add package (?<id>[A-Za-z0-9_.-]+)(?: --version (?<version>\S+))?")]
    private static partial Regex AddPackage();
}
