using System.Net;
using System.Net.Sockets;

namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// The runnable code blocks of README.md and docs/*.md, compiled against the packed packages in a project outside the
/// repository with exactly the packages the document lists, and run: the documentation cannot drift from the API.
/// </summary>
[Collection(PackedPackagesCollection.Name)]
public class DocSnippetTests(PackedPackages package)
{
    public static TheoryData<string> RunnableSnippets()
    {
        var data = new TheoryData<string>();
        foreach (var snippet in DocSnippets.Runnable())
        {
            data.Add(snippet.Location);
        }

        return data;
    }

    [Fact]
    public void The_readme_has_a_runnable_program_and_every_runnable_block_names_its_packages_with_versions()
    {
        var snippets = DocSnippets.Runnable();
        Assert.Contains(snippets, s => Path.GetFileName(s.Document) == "README.md");
        var releaseVersion = typeof(GradientWatch).Assembly.GetName().Version!.ToString(3);
        foreach (var snippet in snippets)
        {
            Assert.True(snippet.Packages.Count > 0, $"{snippet.Location}: no `dotnet add package` line above this runnable block");
            Assert.Contains(snippet.Packages, p => p.Id == PackedPackages.RuntimeId);
            foreach (var reference in snippet.Packages)
            {
                Assert.True(reference.Version is not null, $"{snippet.Location}: `dotnet add package {reference.Id}` gives no --version");
                if (reference.Id.StartsWith("GradientDiagnostics.", StringComparison.Ordinal))
                {
                    Assert.True(reference.Version == releaseVersion, $"{snippet.Location}: {reference.Id} {reference.Version}, but this release is {releaseVersion}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(RunnableSnippets))]
    public void The_runnable_block_compiles_against_the_packages_it_names_and_runs(string location)
    {
        var snippet = Assert.Single(package.UserWorkspace.Snippets, s => s.Location == location);
        var program = package.UserWorkspace.BuiltProgram(snippet.ProjectName);

        // An OTLP exporter in a snippet sends to a port that nothing listens on, never to another process's collector.
        var (exitCode, output) = UserWorkspace.Run(program, new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{ClosedPort()}" });

        Assert.True(exitCode == 0, $"{location} exited with code {exitCode}:\n{output}\n\nCode:\n{snippet.Code}");
        Assert.False(string.IsNullOrWhiteSpace(output), $"{location} printed nothing");
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
