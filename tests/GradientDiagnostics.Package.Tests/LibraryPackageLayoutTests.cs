using System.IO.Compression;
using System.Xml.Linq;

namespace GradientDiagnostics.Package.Tests;

/// <summary>What the GradientDiagnostics.Runtime and .Reporting packages hold and declare.</summary>
[Collection(PackedPackagesCollection.Name)]
public class LibraryPackageLayoutTests(PackedPackages package)
{
    [Fact]
    public void Runtime_depends_on_TorchSharp_the_OpenTelemetry_API_and_logging_abstractions_only()
    {
        var dependencies = Dependencies(Nuspec(PackedPackages.RuntimeId));
        Assert.Equal(new[] { "Microsoft.Extensions.Logging.Abstractions", "OpenTelemetry.Api", "TorchSharp" }, dependencies.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("0.107.0", dependencies["TorchSharp"]);
    }

    [Fact]
    public void Reporting_depends_on_the_runtime_package_of_the_same_version()
    {
        var dependencies = Dependencies(Nuspec(PackedPackages.ReportingId));
        Assert.Equal(package.Version, dependencies[PackedPackages.RuntimeId]);
        Assert.DoesNotContain("OpenTelemetry", dependencies.Keys);
    }

    [Theory]
    [InlineData(PackedPackages.RuntimeId)]
    [InlineData(PackedPackages.ReportingId)]
    public void A_library_package_has_a_readme_a_licence_expression_repository_metadata_and_a_symbols_package(string id)
    {
        var nuspec = Nuspec(id);
        Assert.Equal("MIT", Element(nuspec, "license").Value);
        Assert.Equal("expression", (string?)Element(nuspec, "license").Attribute("type"));
        var readme = Element(nuspec, "readme").Value;
        var repository = Element(nuspec, "repository");
        Assert.Equal("git", (string?)repository.Attribute("type"));
        Assert.StartsWith("https://github.com/", (string?)repository.Attribute("url"), StringComparison.Ordinal);

        using (var archive = ZipFile.OpenRead(package.PackagePath(id)))
        {
            var entry = archive.GetEntry(readme);
            Assert.NotNull(entry);
            using var reader = new StreamReader(entry!.Open());
            Assert.Contains(id, reader.ReadToEnd(), StringComparison.Ordinal);
        }

        using var symbols = ZipFile.OpenRead(package.SymbolsPackagePath(id));
        Assert.Contains(symbols.Entries, e => e.FullName == $"lib/net8.0/{id}.pdb");
    }

    /// <summary>The API's XML documentation travels with the assembly, so a user's IDE shows it (parameters, exceptions, remarks).</summary>
    [Theory]
    [InlineData(PackedPackages.RuntimeId, "M:GradientDiagnostics.GradientWatch.Record(System.Int64)")]
    [InlineData(PackedPackages.ReportingId, "T:GradientDiagnostics.Reporting.GradientHtmlReport")]
    public void A_library_package_carries_its_XML_documentation(string id, string documentedMember)
    {
        using var archive = ZipFile.OpenRead(package.PackagePath(id));
        var entry = archive.GetEntry($"lib/net8.0/{id}.xml");
        Assert.NotNull(entry);
        using var stream = entry!.Open();
        var members = XDocument.Load(stream).Descendants("member").Select(m => (string?)m.Attribute("name")).ToList();
        Assert.Contains(documentedMember, members);
    }

    [Fact]
    public void Runtime_carries_the_native_library_step_as_buildTransitive_the_same_files_the_repository_builds_with()
    {
        using var archive = ZipFile.OpenRead(package.PackagePath(PackedPackages.RuntimeId));
        var packed = new Dictionary<string, string>
        {
            ["buildTransitive/GradientDiagnostics.Runtime.targets"] = "TorchSharp.NativeCompat.targets",
            ["buildTransitive/WeakenElfVersionRequirements.cs"] = "WeakenElfVersionRequirements.cs",
        };
        var packedText = new Dictionary<string, string>();
        foreach (var (entryName, source) in packed)
        {
            var entry = archive.GetEntry(entryName);
            Assert.True(entry is not null, $"{entryName} is not in the package: {string.Join(", ", archive.Entries.Select(e => e.FullName))}");
            using var reader = new StreamReader(entry!.Open());
            packedText[entryName] = reader.ReadToEnd();
            Assert.Equal(File.ReadAllText(Path.Combine(Repository.Root, "build", source)), packedText[entryName]);
        }

        // The targets a user gets find the task source beside themselves in the package, never in this repository.
        var targets = XDocument.Parse(packedText["buildTransitive/GradientDiagnostics.Runtime.targets"]);
        var taskSource = targets.Descendants().Single(e => e.Name.LocalName == "Code").Attribute("Source")!.Value;
        Assert.Equal("$(MSBuildThisFileDirectory)WeakenElfVersionRequirements.cs", taskSource);
        Assert.DoesNotContain(targets.Descendants(), e => e.Name.LocalName == "Import");
    }

    private XDocument Nuspec(string id)
    {
        using var archive = ZipFile.OpenRead(package.PackagePath(id));
        using var stream = archive.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream);
    }

    private static XElement Element(XDocument nuspec, string name) => nuspec.Descendants().Single(e => e.Name.LocalName == name);

    private static Dictionary<string, string> Dependencies(XDocument nuspec) => nuspec.Descendants()
        .Where(e => e.Name.LocalName == "dependency")
        .ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!);
}
