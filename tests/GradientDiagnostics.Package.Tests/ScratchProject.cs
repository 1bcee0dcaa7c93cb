namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// A TorchSharp console project in its own temporary folder outside this repository (see <see cref="UserFolder"/>).
/// It is what a user's project looks like.
/// </summary>
public sealed class ScratchProject : IDisposable
{
    public const string TorchSharpVersion = "0.107.0";
    public const string LibTorchVersion = "2.10.0";
    private const string Name = "Scratch";

    private ScratchProject(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public string ProjectFile => Path.Combine(Directory, Name + ".csproj");

    /// <summary>
    /// Creates the project with the C# files of <paramref name="sourceDirectory"/> (top level only). A
    /// <paramref name="runnable"/> project also gets LibTorch and the GradientDiagnostics.Runtime package, whose
    /// native-library step makes TorchSharp load on Debian 12, as a user's project gets it.
    /// </summary>
    public static ScratchProject FromSources(PackedPackages package, string sourceDirectory, string? editorConfig = null, bool runnable = false)
    {
        var sources = System.IO.Directory.GetFiles(sourceDirectory, "*.cs", SearchOption.TopDirectoryOnly);
        if (sources.Length == 0)
        {
            throw new ArgumentException($"No C# files in {sourceDirectory}.", nameof(sourceDirectory));
        }

        var project = new ScratchProject(UserFolder.Create(package, "gd-e2e-"));
        project.Write(".editorconfig", "root = true\n\n[*.cs]\n" + (editorConfig ?? ""));
        // LibTorch to run on, and the runtime package for the native-library step it carries (buildTransitive).
        var runtime = runnable
            ? $"    <PackageReference Include=\"libtorch-cpu-linux-x64\" Version=\"{LibTorchVersion}\" />\n"
              + $"    <PackageReference Include=\"{PackedPackages.RuntimeId}\" Version=\"{package.Version}\" />\n"
            : "";
        project.Write(Name + ".csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TorchSharp" Version="{TorchSharpVersion}" />
            {runtime}  </ItemGroup>
            </Project>
            """);
        foreach (var source in sources)
        {
            File.Copy(source, Path.Combine(project.Directory, Path.GetFileName(source)));
        }

        return project;
    }

    /// <summary>dotnet add package, as a user does it: restores from the local feed and writes the reference.</summary>
    public void AddAnalyzerPackage(PackedPackages package)
    {
        var (exitCode, log) = Repository.Dotnet(Directory, "add", ProjectFile, "package", PackedPackages.AnalyzerId, "--version", package.Version);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"dotnet add package {PackedPackages.AnalyzerId} {package.Version} failed with exit code {exitCode}:\n{log}");
        }
    }

    /// <summary>The reference <c>dotnet add package</c> would write, written directly (no extra restore).</summary>
    public void ReferenceAnalyzerPackage(PackedPackages package)
    {
        var csproj = File.ReadAllText(ProjectFile);
        var reference = $"""    <PackageReference Include="{PackedPackages.AnalyzerId}" Version="{package.Version}" PrivateAssets="all" />""";
        File.WriteAllText(ProjectFile, csproj.Replace("  </ItemGroup>", reference + "\n  </ItemGroup>", StringComparison.Ordinal));
    }

    /// <summary>Runs dotnet build, with a SARIF 2.1 error log at <paramref name="sarifPath"/> when given.</summary>
    public (int ExitCode, string Output) Build(string? sarifPath = null)
    {
        var arguments = new List<string> { "build", ProjectFile, "-nodeReuse:false", "-tl:off" };
        if (sarifPath is not null)
        {
            // The comma separating the version must be escaped for the command line (%2C).
            arguments.Add($"-p:ErrorLog={sarifPath}%2Cversion=2.1");
        }

        return Repository.Dotnet(Directory, arguments.ToArray());
    }

    public (int ExitCode, string Output) Run(params string[] dotnetArguments) => Repository.Dotnet(Directory, dotnetArguments);

    public string ReadAllSources() => string.Join("\n", System.IO.Directory.GetFiles(Directory, "*.cs").OrderBy(p => p, StringComparer.Ordinal).Select(File.ReadAllText));

    public void Write(string relativePath, string content) => File.WriteAllText(Path.Combine(Directory, relativePath), content);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A build process that outlived its test can still hold a file; the OS temp cleaner takes the rest.
        }
    }
}
