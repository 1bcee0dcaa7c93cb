using System.IO.Compression;
using System.Xml.Linq;

namespace GradientDiagnostics.Package.Tests;

[Collection(PackedPackagesCollection.Name)]
public class PackageLayoutTests(PackedPackages package)
{
    [Fact]
    public void Pack_puts_analyzers_and_code_fixes_under_analyzers_dotnet_cs_as_a_development_dependency()
    {
        using var archive = ZipFile.OpenRead(package.PackagePath(PackedPackages.AnalyzerId));
        var entries = archive.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("analyzers/dotnet/cs/GradientDiagnostics.Analyzers.dll", entries);
        Assert.Contains("analyzers/dotnet/cs/GradientDiagnostics.CodeFixes.dll", entries);
        Assert.Contains("config/gradientdiagnostics.globalconfig", entries);
        Assert.Contains("build/GradientDiagnostics.Analyzer.props", entries);
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal));

        var nuspecEntry = archive.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspecEntry.Open();
        var nuspec = XDocument.Load(stream);
        Assert.Equal(PackedPackages.AnalyzerId, nuspec.Descendants().Single(e => e.Name.LocalName == "id").Value);
        Assert.Equal(package.Version, nuspec.Descendants().Single(e => e.Name.LocalName == "version").Value);
        var developmentDependency = nuspec.Descendants().Single(e => e.Name.LocalName == "developmentDependency");
        Assert.Equal("true", developmentDependency.Value);
        Assert.DoesNotContain(nuspec.Descendants(), e => e.Name.LocalName == "dependency");
    }

    [Fact]
    public void Dotnet_add_package_marks_the_reference_private_because_the_package_is_a_development_dependency()
    {
        var csproj = XDocument.Load(package.RiskyBuild.Project.ProjectFile);
        var reference = csproj.Descendants("PackageReference").Single(e => (string?)e.Attribute("Include") == PackedPackages.AnalyzerId);
        Assert.Equal(package.Version, (string?)reference.Attribute("Version"));
        var privateAssets = (string?)reference.Attribute("PrivateAssets") ?? reference.Element("PrivateAssets")?.Value;
        Assert.Equal("all", privateAssets);
    }
}
