using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace GradientDiagnostics;

/// <summary>
/// Loads TorchSharp's native library, and when it cannot be loaded, says why in terms of the fix: a C++ runtime that
/// is too old for it (e.g. GLIBCXX_3.4.32 on Debian 12 with the package's build step turned off), or a LibTorch
/// package missing from the project.
/// </summary>
/// <remarks>
/// TorchSharp loads its native library the first time a tensor or module is made. When that fails it reports that the
/// application "doesn't contain a reference to libtorch-cpu-…" whatever the cause, and it first copies every LibTorch
/// library from the NuGet cache into the application folder to try again. Call <see cref="EnsureLoaded"/> once before
/// the first tensor; a model cannot be created, and so cannot be watched, until the library loads.
/// </remarks>
public static class TorchSharpNative
{
    private static readonly object Gate = new();
    private static volatile bool loaded;

    /// <summary>
    /// Loads TorchSharp's native library (<c>libLibTorchSharp.so</c> / <c>LibTorchSharp.dll</c>) and LibTorch the way
    /// TorchSharp does, then initialises TorchSharp's CPU backend. Returns at once after the first success.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The native library cannot be loaded. The message names the cause (the missing <c>GLIBCXX</c> version and the
    /// system's <c>libstdc++</c>, the missing LibTorch package, or the loader's own words) and the fix; the inner
    /// exception is the loader's.
    /// </exception>
    public static void EnsureLoaded()
    {
        if (loaded)
        {
            return;
        }

        lock (Gate)
        {
            if (loaded)
            {
                return;
            }

            var torchSharp = typeof(torch).Assembly;
            string? loaderError = null;
            DllNotFoundException? loaderException = null;
            // LibTorch first, as TorchSharp does: the wrapper library finds it already loaded.
            NativeLibrary.TryLoad("torch_cpu", torchSharp, null, out _);
            try
            {
                NativeLibrary.Load("LibTorchSharp", torchSharp, null);
            }
            catch (DllNotFoundException exception)
            {
                loaderError = exception.Message;
                loaderException = exception;
            }

            // In a script host (.NET Interactive, F# Interactive) TorchSharp.dll runs from the NuGet cache and TorchSharp's
            // own loader gathers the native packages; in an application, the native files belong next to the program.
            if (loaderException is not null && !RunsFromPackageFolder(torchSharp))
            {
                throw new InvalidOperationException(NativeLoadDiagnosis.Explain(loaderException.Message, Describe(torchSharp)), loaderException);
            }

            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception exception) when (exception is TypeInitializationException or NotSupportedException or DllNotFoundException)
            {
                var cause = loaderError ?? (exception.InnerException ?? exception).Message;
                throw new InvalidOperationException(NativeLoadDiagnosis.Explain(cause, Describe(torchSharp)), exception);
            }

            loaded = true;
        }
    }

    private static bool RunsFromPackageFolder(Assembly torchSharp) =>
        torchSharp.Location.Replace('\\', '/').Contains("/torchsharp/", StringComparison.OrdinalIgnoreCase)
        && torchSharp.Location.Replace('\\', '/').Contains("/lib/", StringComparison.Ordinal);

    private static TorchSharpBuild Describe(Assembly torchSharp)
    {
        var version = torchSharp.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
        var metadata = version.IndexOf('+', StringComparison.Ordinal);
        // A private constant of TorchSharp's: reading it does not run the type's initialiser, which would load the library.
        var libTorch = typeof(torch).GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue() as string;
        return new TorchSharpBuild(
            metadata < 0 ? version : version[..metadata],
            NuGetVersion(libTorch),
            RuntimeInformation.RuntimeIdentifier);
    }

    /// <summary>TorchSharp writes the LibTorch version with four parts (2.10.0.0); its package is versioned 2.10.0.</summary>
    private static string? NuGetVersion(string? version) =>
        version is not null && version.Split('.') is { Length: 4 } parts && parts[3] == "0" ? string.Join('.', parts[..3]) : version;
}

/// <summary>The TorchSharp the application runs with: what the error message names.</summary>
internal sealed record TorchSharpBuild(string Version, string? LibTorchVersion, string RuntimeIdentifier)
{
    public string LibTorchPackage => $"libtorch-cpu-{RuntimeIdentifier}";
}
