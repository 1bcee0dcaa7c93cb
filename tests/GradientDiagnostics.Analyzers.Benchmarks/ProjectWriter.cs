using System.Text;
using GradientDiagnostics.Testing;

namespace GradientDiagnostics.Analyzers.Benchmarks;

/// <summary>
/// Writes the generated codebase as a real SDK project, so the analyzers' share of an actual <c>dotnet build</c>
/// (what a user waits for) can be measured with the compiler's own <c>ReportAnalyzer</c> output.
/// </summary>
internal static class ProjectWriter
{
    public const string ProjectName = "GeneratedTrainingCodebase";

    /// <summary>Writes the project; returns the number of source files written.</summary>
    public static int Write(string directory, string analyzerPath, string corpus)
    {
        if (!File.Exists(analyzerPath))
        {
            throw new FileNotFoundException(
                $"Analyzer assembly '{analyzerPath}' not found; build it first (dotnet build -c Release src/GradientDiagnostics.Analyzers) or pass --analyzer <path>.",
                analyzerPath);
        }

        var files = corpus switch
        {
            "clean" or "mixed" => TrainingCodebase.Generate(AnalyzerOverheadBenchmarks.MinimumFiles, corpus == "clean"),
            "dense" => DenseTrainingCodebase.Generate(AnalyzerOverheadBenchmarks.MinimumFiles),
            _ => throw new ArgumentException($"--write-project writes a generated corpus (clean, mixed or dense), not '{corpus}'."),
        };
        Directory.CreateDirectory(directory);
        if (Directory.EnumerateFileSystemEntries(directory).Any(e => !IsOwnOutput(directory, e)))
        {
            throw new IOException($"Directory '{directory}' is not empty and was not written by --write-project; choose an empty directory.");
        }

        // Empty imports stop the repository's Directory.Build.* and central package management from reaching the
        // generated project when it is written inside the repository.
        foreach (var name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            File.WriteAllText(Path.Combine(directory, name), "<Project>\n</Project>\n");
        }

        File.WriteAllText(Path.Combine(directory, ProjectName + ".csproj"), ProjectFile(Path.GetFullPath(analyzerPath)));
        var sources = Path.Combine(directory, "src");
        if (Directory.Exists(sources))
        {
            Directory.Delete(sources, recursive: true);
        }

        foreach (var (path, text) in files)
        {
            var target = Path.Combine(sources, path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllText(target, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }

        return files.Length;
    }

    /// <summary>The Release build output of src/GradientDiagnostics.Analyzers, found from the repository root above this program.</summary>
    public static string DefaultAnalyzerPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Diagnostics.sln")))
            {
                return Path.Combine(dir.FullName, "src", "GradientDiagnostics.Analyzers", "bin", "Release", "netstandard2.0", "GradientDiagnostics.Analyzers.dll");
            }
        }

        throw new DirectoryNotFoundException($"No Diagnostics.sln above '{AppContext.BaseDirectory}'; pass --analyzer <path to GradientDiagnostics.Analyzers.dll>.");
    }

    private static bool IsOwnOutput(string directory, string entry) =>
        Path.GetFileName(entry) is "src" or "bin" or "obj" or "logs" or "Directory.Build.props" or "Directory.Build.targets" or "Directory.Packages.props"
        || entry == Path.Combine(directory, ProjectName + ".csproj")
        || Path.GetExtension(entry) is ".binlog" or ".log";

    // Same language version and nullable context as the in-process benchmark's compilation; no implicit usings, since
    // the generated files carry their own. UseAnalyzer=false leaves the identical build without the analyzer.
    private static string ProjectFile(string analyzerPath) => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <TargetFramework>net10.0</TargetFramework>
            <OutputType>Library</OutputType>
            <LangVersion>12</LangVersion>
            <Nullable>enable</Nullable>
            <ImplicitUsings>disable</ImplicitUsings>
            <Deterministic>true</Deterministic>
            <UseAnalyzer Condition="'$(UseAnalyzer)' == ''">true</UseAnalyzer>
            <!-- -p:GradientDiagnosticsAnalyzer=<dll> builds the same project with another build of the analyzers (a baseline). -->
            <GradientDiagnosticsAnalyzer Condition="'$(GradientDiagnosticsAnalyzer)' == ''">{analyzerPath}</GradientDiagnosticsAnalyzer>
            <!-- Only the GradientDiagnostics analyzer: the SDK's own code-style and quality analyzers stay out of both arms. -->
            <EnableNETAnalyzers>false</EnableNETAnalyzers>
            <EnforceCodeStyleInBuild>false</EnforceCodeStyleInBuild>
          </PropertyGroup>
          <ItemGroup>
            <!-- Outside the repository's central package management, so the version is written here. -->
            <PackageReference Include="TorchSharp" Version="0.107.0" />
          </ItemGroup>
          <ItemGroup Condition="'$(UseAnalyzer)' == 'true'">
            <Analyzer Include="$(GradientDiagnosticsAnalyzer)" />
          </ItemGroup>
        </Project>

        """;
}
