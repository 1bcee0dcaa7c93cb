namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// A temporary folder outside this repository set up the way a user's machine sees packages: its own nuget.config (this
/// run's local feed, then nuget.org) and empty Directory.Build.* / Directory.Packages.props, so that nothing from the
/// folders above it is inherited and nothing is imported by path.
/// </summary>
public static class UserFolder
{
    public static string Create(PackedPackages package, string prefix)
    {
        var folder = Directory.CreateTempSubdirectory(prefix).FullName;
        if (folder.StartsWith(Repository.Root, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The temp folder {folder} lies inside the repository {Repository.Root}; it would inherit its build settings.");
        }

        File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="gradient-diagnostics-local" value="{package.Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Packages.props"), "<Project />\n");
        return folder;
    }
}
