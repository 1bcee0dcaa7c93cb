using System.Diagnostics;
using System.Reflection;

namespace GradientDiagnostics.Package.Tests;

/// <summary>Paths of this repository and a way to run the dotnet CLI from tests.</summary>
internal static class Repository
{
    /// <summary>Longer than any single restore, build, pack or format here; a hung child fails the test instead of the run.</summary>
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(8);

    public static string Root { get; } = typeof(Repository).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>The projects of every package a user gets: <c>dotnet pack build/Packages.slnf</c> makes them all.</summary>
    public static string PackagesSolutionFilter => Path.Combine(Root, "build", "Packages.slnf");

    public static string Sample(string name) => Path.Combine(Root, "samples", name);

    public static (int ExitCode, string Output) Dotnet(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host's MSBuild variables would leak into the child build.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // Build nodes and the build server would outlive the test and hold files in the temp folders open.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        // Plain, parseable console output rather than the interactive terminal logger.
        start.Environment["MSBUILDTERMINALLOGGER"] = "off";

        return Run(start, CommandTimeout);
    }

    /// <summary>Runs a process to its end (killed with its children after <paramref name="timeout"/>); returns its exit code and output.</summary>
    public static (int ExitCode, string Output) Run(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, $"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout} in {start.WorkingDirectory}\n{stdout.Result}{stderr.Result}");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
