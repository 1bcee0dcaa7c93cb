using System.IO.Compression;
using System.Xml.Linq;

namespace GradientDiagnostics.Package.Tests;

public class PackageLayoutTests
{
    [Fact]
    public void Pack_puts_analyzers_and_code_fixes_under_analyzers_dotnet_cs_as_a_development_dependency()
    {
        var output = Directory.CreateTempSubdirectory("gd-pack-").FullName;
        try
        {
            var (exitCode, log) = Repository.Dotnet(Repository.Root, "pack", Repository.PackageProject, "-c", "Release", "-o", output);
            Assert.True(exitCode == 0, log);

            var nupkg = Assert.Single(Directory.GetFiles(output, "GradientDiagnostics.Analyzer.*.nupkg"));
            using var archive = ZipFile.OpenRead(nupkg);
            var entries = archive.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("analyzers/dotnet/cs/GradientDiagnostics.Analyzers.dll", entries);
            Assert.Contains("analyzers/dotnet/cs/GradientDiagnostics.CodeFixes.dll", entries);
            Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal));

            var nuspecEntry = archive.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
            using var stream = nuspecEntry.Open();
            var nuspec = XDocument.Load(stream);
            var developmentDependency = nuspec.Descendants().Single(e => e.Name.LocalName == "developmentDependency");
            Assert.Equal("true", developmentDependency.Value);
            Assert.DoesNotContain(nuspec.Descendants(), e => e.Name.LocalName == "dependency");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
