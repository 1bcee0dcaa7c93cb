using System.Diagnostics;
using System.Text;

namespace GradientDiagnostics.Package.Tests;

/// <summary>
/// Users' own projects outside this repository that reference the packed runtime packages from the local feed (see
/// <see cref="UserFolder"/>), restored and built together by one <c>dotnet build</c> of a solution that lists them:
/// <list type="bullet">
/// <item><c>CpuApp</c>: TorchSharp-cpu and GradientDiagnostics.Runtime, nothing else.</item>
/// <item><c>SplitApp</c>: TorchSharp and libtorch-cpu-linux-x64 instead of TorchSharp-cpu.</item>
/// <item><c>TrainingLibrary</c> and <c>LibraryApp</c>: a class library that references the packages, and an app that gets them only through it.</item>
/// <item><c>CompatOffApp</c>: CpuApp with the build step turned off and TorchSharpNative.EnsureLoaded first.</item>
/// <item><c>NoLibTorchApp</c>: TorchSharp without any LibTorch package, EnsureLoaded first; <c>NoLibTorchQuietApp</c> the same with GDN001 in NoWarn.</item>
/// <item><c>SdkApp</c>: CpuApp with the OpenTelemetry SDK (a newer one than the package was built with) and the in-memory exporter.</item>
/// <item><c>Net8SdkApp</c>: SdkApp targeting net8.0, where that SDK brings the netstandard2.0 build of System.Diagnostics.DiagnosticSource 11 (<see cref="Net8"/>).</item>
/// <item><c>ForwardApp</c>: CpuApp with the analyzer package and a model that invokes its LSTM with <c>forward()</c>, built with a SARIF log (<see cref="ForwardAppSarif"/>).</item>
/// <item>one project per runnable code block of the documentation (<see cref="DocSnippets"/>).</item>
/// </list>
/// </summary>
public sealed class UserWorkspace : IDisposable
{
    public const string TorchSharpVersion = ScratchProject.TorchSharpVersion;
    public const string LibTorchVersion = ScratchProject.LibTorchVersion;
    public const string OpenTelemetrySdkVersion = "1.21.0";
    private const string Configuration = "Debug";
    private const string SarifFileName = "build.sarif";
    /// <summary>The oldest target the runtime package supports; run here with DOTNET_ROLL_FORWARD=Major where no .NET 8 runtime is installed.</summary>
    public const string Net8 = "net8.0";
    private const string TargetFramework = "net10.0";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    private readonly PackedPackages package;
    private readonly Lazy<(int ExitCode, string Output)> publish;

    public UserWorkspace(PackedPackages package)
    {
        this.package = package;
        Directory = UserFolder.Create(package, "gd-user-");
        var runtime = new DocPackage(PackedPackages.RuntimeId, package.Version);
        var torchSharpCpu = new DocPackage("TorchSharp-cpu", TorchSharpVersion);
        var torchSharp = new DocPackage("TorchSharp", TorchSharpVersion);

        AddProject("CpuApp", [torchSharpCpu, runtime], UserPrograms.Main, UserPrograms.Training);
        AddProject("SplitApp", [torchSharp, new DocPackage("libtorch-cpu-linux-x64", LibTorchVersion), runtime], UserPrograms.Main, UserPrograms.Training);
        AddProject("TrainingLibrary", [torchSharpCpu, runtime], main: null, UserPrograms.Training);
        AddProject("LibraryApp", [], UserPrograms.Main, projectReference: "TrainingLibrary");
        AddProject("CompatOffApp", [torchSharpCpu, runtime], UserPrograms.CheckedMain, UserPrograms.Training, properties: "<TorchSharpNativeCompatEnabled>false</TorchSharpNativeCompatEnabled>");
        AddProject("NoLibTorchApp", [torchSharp, runtime], UserPrograms.CheckedMain, UserPrograms.Training);
        AddProject("NoLibTorchQuietApp", [torchSharp, runtime], UserPrograms.CheckedMain, UserPrograms.Training, properties: "<NoWarn>$(NoWarn);GDN001</NoWarn>");
        AddProject("SdkApp", [torchSharpCpu, runtime, new DocPackage("OpenTelemetry.Exporter.InMemory", OpenTelemetrySdkVersion)], UserPrograms.SdkMain, UserPrograms.Training);
        AddProject("Net8SdkApp", [torchSharpCpu, runtime, new DocPackage("OpenTelemetry.Exporter.InMemory", OpenTelemetrySdkVersion)], UserPrograms.SdkMain, UserPrograms.Training, targetFramework: Net8);
        AddProject(
            "ForwardApp",
            [torchSharpCpu, runtime, new DocPackage(PackedPackages.AnalyzerId, package.Version)],
            UserPrograms.Main,
            UserPrograms.ForwardTraining,
            properties: $"<ErrorLog>$(MSBuildProjectDirectory)/{SarifFileName},version=2.1</ErrorLog>");

        Snippets = DocSnippets.Runnable();
        foreach (var snippet in Snippets)
        {
            AddProject(snippet.ProjectName, snippet.Packages.Select(OfThisRun).ToList(), snippet.Code);
        }

        File.WriteAllText(Path.Combine(Directory, "UserProjects.slnx"),
            "<Solution>\n" + string.Concat(Projects.Select(p => $"  <Project Path=\"{p}/{p}.csproj\" />\n")) + "</Solution>\n");
        // One restore and one build for every project; minimal verbosity still shows the build step's messages.
        (BuildExitCode, BuildOutput) = Repository.Dotnet(Directory, "build", "UserProjects.slnx", "-c", Configuration, "-nodeReuse:false", "-tl:off", "-v:m");
        publish = new Lazy<(int, string)>(() => Repository.Dotnet(Directory, "publish", ProjectFile("CpuApp"), "-c", Configuration, "--no-restore", "-o", PublishFolder, "-nodeReuse:false", "-tl:off", "-v:m"));
    }

    public string Directory { get; }

    public List<string> Projects { get; } = new();

    public IReadOnlyList<DocSnippet> Snippets { get; }

    public int BuildExitCode { get; }

    public string BuildOutput { get; }

    public string PublishFolder => Path.Combine(Directory, "publish");

    /// <summary><c>dotnet publish CpuApp</c> into <see cref="PublishFolder"/>, once, after the build.</summary>
    public (int ExitCode, string Output) Publish => publish.Value;

    /// <summary>The compiler's SARIF log of ForwardApp's build.</summary>
    public string ForwardAppSarif => Path.Combine(Directory, "ForwardApp", SarifFileName);

    public string ProjectFile(string project) => Path.Combine(Directory, project, project + ".csproj");

    public string OutputFolder(string project, string targetFramework = TargetFramework) => Path.Combine(Directory, project, "bin", Configuration, targetFramework);

    /// <summary>Fails with the build log unless the project's program was built.</summary>
    public string BuiltProgram(string project, string targetFramework = TargetFramework)
    {
        var program = Path.Combine(OutputFolder(project, targetFramework), project + ".dll");
        Assert.True(File.Exists(program), $"{project} was not built (dotnet build exit code {BuildExitCode}):\n{BuildOutput}");
        return program;
    }

    /// <summary>Runs a built program with <c>dotnet</c>, from its project folder, as a user does.</summary>
    public static (int ExitCode, string Output) Run(string program, IReadOnlyDictionary<string, string>? environment = null, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(program)! };
        start.ArgumentList.Add(program);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return Repository.Run(start, RunTimeout);
    }

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

    /// <summary>The documents name this repository's packages with the version users get; here that is this run's pack.</summary>
    private DocPackage OfThisRun(DocPackage documented) =>
        documented.Id.StartsWith("GradientDiagnostics.", StringComparison.Ordinal) ? documented with { Version = package.Version } : documented;

    private void AddProject(string name, IReadOnlyList<DocPackage> packages, string? main, string? training = null, string? projectReference = null, string properties = "", string targetFramework = TargetFramework)
    {
        var folder = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(folder);
        var items = new StringBuilder();
        foreach (var reference in packages)
        {
            items.Append($"    <PackageReference Include=\"{reference.Id}\" Version=\"{reference.Version}\" />\n");
        }

        if (projectReference is not null)
        {
            items.Append($"    <ProjectReference Include=\"../{projectReference}/{projectReference}.csproj\" />\n");
        }

        File.WriteAllText(Path.Combine(folder, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>{(main is null ? "Library" : "Exe")}</OutputType>
                <TargetFramework>{targetFramework}</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                {properties}
              </PropertyGroup>
              <ItemGroup>
            {items}  </ItemGroup>
            </Project>
            """);
        if (main is not null)
        {
            File.WriteAllText(Path.Combine(folder, "Program.cs"), main);
        }

        if (training is not null)
        {
            File.WriteAllText(Path.Combine(folder, "Training.cs"), training);
        }

        Projects.Add(name);
    }
}
