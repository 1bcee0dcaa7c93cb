using System.Globalization;
using System.Text.RegularExpressions;

namespace GradientDiagnostics;

/// <summary>
/// Reads the dynamic loader's error for TorchSharp's native library (the lines of a <see cref="DllNotFoundException"/>,
/// one per candidate file) and turns it into the cause and the fix.
/// </summary>
internal static class NativeLoadDiagnosis
{
    /// <summary>The MSBuild property that turns the package's build step off.</summary>
    public const string BuildStepProperty = "TorchSharpNativeCompatEnabled";

    /// <summary>The version requirements the build step may mark weak (its default TorchSharpWeakVersions).</summary>
    private static readonly string[] VersionsTheBuildStepWeakens = { "GLIBCXX_3.4.32" };

    // glibc: "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /app/libLibTorchSharp.so)"
    private static readonly Regex VersionNotFound = new(
        @"(?<library>/[^\s:]+): version `(?<version>[^']+)' not found \(required by (?<requirer>[^)]+)\)",
        RegexOptions.CultureInvariant);

    // A dependency the loader searched for by name and did not find: "libtorch.so: cannot open shared object file".
    private static readonly Regex DependencyNotFound = new(
        @"^(?<name>[^/\s:]+): cannot open shared object file",
        RegexOptions.CultureInvariant | RegexOptions.Multiline);

    private static readonly Regex LibTorchComponent = new(@"^lib(torch|c10|gomp|shm)", RegexOptions.CultureInvariant);

    public static string Explain(string loaderError, TorchSharpBuild torchSharp)
    {
        if (VersionNotFound.Match(loaderError) is { Success: true } version)
        {
            return MissingSymbolVersion(version.Groups["library"].Value, version.Groups["version"].Value, version.Groups["requirer"].Value);
        }

        if (DependencyNotFound.Match(loaderError) is { Success: true } dependency)
        {
            var name = dependency.Groups["name"].Value;
            return LibTorchComponent.IsMatch(name)
                ? MissingLibTorch(name, torchSharp)
                : $"TorchSharp's native library cannot load: it needs the system library '{name}', which the loader did not find. "
                  + $"Install the package that provides {name} for this system. (Loader: {FirstLine(dependency.Value)})";
        }

        var telling = TellingLines(loaderError);
        return telling.Count == 0
            ? $"TorchSharp's native library (LibTorchSharp) is neither next to the program nor in its runtimes/{torchSharp.RuntimeIdentifier}/native "
              + $"folder: TorchSharp {torchSharp.Version} has no native build for {torchSharp.RuntimeIdentifier}, or the program runs from a folder "
              + "that dotnet build or dotnet publish did not write."
            : $"TorchSharp {torchSharp.Version}'s native library could not be loaded on {torchSharp.RuntimeIdentifier}. "
              + $"The loader said: {string.Join(" ", telling)}";
    }

    private static string MissingSymbolVersion(string library, string version, string requirer)
    {
        if (!version.StartsWith("GLIBCXX_", StringComparison.Ordinal))
        {
            return $"TorchSharp's native library '{requirer}' cannot load: it needs {version} from '{library}', which this system's "
                   + $"version of that library lacks. Run it on a newer Linux distribution. (Loader: {library}: version `{version}' not found)";
        }

        var provided = HighestGlibcxx(library);
        var system = provided is null ? $"this system's C++ runtime '{library}'" : $"this system's C++ runtime '{library}' provides only up to {provided}";
        var cause = $"TorchSharp's native library '{requirer}' cannot load: it was built with a newer GCC and asks for {version}, and {system}.";
        if (!VersionsTheBuildStepWeakens.Contains(version))
        {
            return $"{cause} Install a libstdc++ that provides {version} (a newer GCC runtime or Linux distribution).";
        }

        return $"{cause} GradientDiagnostics.Runtime fixes this at build time: when the system's libstdc++ lacks {version}, its build "
               + "step marks that one requirement weak in the copy of libLibTorchSharp.so that dotnet build and dotnet publish write "
               + "(the build log says \"GradientDiagnostics: marked " + version + " weak in …\"). It did not run for this copy. "
               + $"Fix: remove <{BuildStepProperty}>false</{BuildStepProperty}> from the project (or its Directory.Build.props), "
               + "rebuild, and run the program from its build or publish folder; or install a libstdc++ that provides " + version + ".";
    }

    private static string MissingLibTorch(string component, TorchSharpBuild torchSharp)
    {
        var libTorch = torchSharp.LibTorchVersion is null ? torchSharp.LibTorchPackage : $"{torchSharp.LibTorchPackage} {torchSharp.LibTorchVersion}";
        return $"TorchSharp's native library cannot load: LibTorch is missing ({component} is not next to it). The project references "
               + $"the TorchSharp package, which holds no LibTorch. Fix: add a PackageReference to {libTorch}, or replace TorchSharp with "
               + $"TorchSharp-cpu {torchSharp.Version} (TorchSharp with LibTorch for the CPU), then build again.";
    }

    /// <summary>The highest GLIBCXX_3.4.N version string in a libstdc++ file, or null when it cannot be read.</summary>
    private static string? HighestGlibcxx(string library)
    {
        try
        {
            var text = System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(library));
            var highest = Regex.Matches(text, @"GLIBCXX_3\.4\.(\d+)\0", RegexOptions.CultureInvariant)
                .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
                .DefaultIfEmpty(-1)
                .Max();
            return highest < 0 ? null : $"GLIBCXX_3.4.{highest}";
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The loader's lines after its headline, less those for candidate paths that simply do not exist.</summary>
    private static List<string> TellingLines(string loaderError) => loaderError
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Skip(1)
        .Where(line => !line.EndsWith("No such file or directory", StringComparison.Ordinal))
        .ToList();

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
