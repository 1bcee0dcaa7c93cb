namespace GradientDiagnostics.Tests.Shared;

/// <summary>What this machine's C++ runtime provides: whether TorchSharp's native library needs the build step here.</summary>
internal static class SystemLibstdcxx
{
    private static readonly string[] Candidates =
    {
        "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6",
    };

    /// <summary>True when the system libstdc++ defines the symbol version <paramref name="version"/> (e.g. GLIBCXX_3.4.32).</summary>
    public static bool Has(string version)
    {
        var library = Candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"No libstdc++.so.6 in {string.Join(", ", Candidates)}.");
        var needle = System.Text.Encoding.ASCII.GetBytes("\0" + version + "\0");
        return File.ReadAllBytes(library).AsSpan().IndexOf(needle) >= 0;
    }
}
