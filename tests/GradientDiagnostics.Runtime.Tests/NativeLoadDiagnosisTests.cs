namespace GradientDiagnostics.Runtime.Tests;

/// <summary>
/// The causes read from the loader's own words (lines as glibc's loader reports them through DllNotFoundException).
/// The real failures — a build with the step turned off, a project without LibTorch — run in the package tests.
/// </summary>
public class NativeLoadDiagnosisTests
{
    private const string Headline = "Unable to load shared library 'LibTorchSharp' or one of its dependencies. In order to help diagnose loading problems, consider using a tool like strace. If you're using glibc, consider setting the LD_DEBUG environment variable: ";
    private static readonly TorchSharpBuild TorchSharp = new("0.107.0", "2.10.0", "linux-x64");

    [Fact]
    public void A_GLIBCXX_version_the_build_step_weakens_points_to_the_step_and_its_property()
    {
        var message = NativeLoadDiagnosis.Explain(Loader("/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /app/runtimes/linux-x64/native/libLibTorchSharp.so)"), TorchSharp);

        Assert.Contains("'/app/runtimes/linux-x64/native/libLibTorchSharp.so' cannot load", message, StringComparison.Ordinal);
        Assert.Contains("asks for GLIBCXX_3.4.32", message, StringComparison.Ordinal);
        Assert.Contains("<TorchSharpNativeCompatEnabled>false</TorchSharpNativeCompatEnabled>", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_GLIBCXX_version_the_build_step_does_not_weaken_asks_for_a_newer_libstdcxx_only()
    {
        var message = NativeLoadDiagnosis.Explain(Loader("/usr/lib64/libstdc++.so.6: version `GLIBCXX_3.4.33' not found (required by /app/libLibTorchSharp.so)"), TorchSharp);

        Assert.Contains("asks for GLIBCXX_3.4.33", message, StringComparison.Ordinal);
        Assert.Contains("Install a libstdc++ that provides GLIBCXX_3.4.33", message, StringComparison.Ordinal);
        Assert.DoesNotContain("TorchSharpNativeCompatEnabled", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_glibc_version_asks_for_a_newer_system_not_for_libstdcxx()
    {
        var message = NativeLoadDiagnosis.Explain(Loader("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /app/libLibTorchSharp.so)"), TorchSharp);

        Assert.Contains("needs GLIBC_2.38", message, StringComparison.Ordinal);
        Assert.Contains("newer Linux distribution", message, StringComparison.Ordinal);
        Assert.DoesNotContain("libstdc++", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_LibTorch_library_names_the_package_for_this_platform()
    {
        var message = NativeLoadDiagnosis.Explain(Loader("libtorch.so: cannot open shared object file: No such file or directory"), TorchSharp);

        Assert.Contains("LibTorch is missing (libtorch.so", message, StringComparison.Ordinal);
        Assert.Contains("libtorch-cpu-linux-x64 2.10.0", message, StringComparison.Ordinal);
        Assert.Contains("TorchSharp-cpu 0.107.0", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_system_library_is_named_without_blaming_LibTorch()
    {
        var message = NativeLoadDiagnosis.Explain(Loader("libgfortran.so.5: cannot open shared object file: No such file or directory"), TorchSharp);

        Assert.Contains("'libgfortran.so.5'", message, StringComparison.Ordinal);
        Assert.DoesNotContain("LibTorch is missing", message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_LibTorchSharp_file_at_all_says_where_it_was_looked_for()
    {
        var message = NativeLoadDiagnosis.Explain(Loader(
            "/app/runtimes/linux-x64/native/libLibTorchSharp.so: cannot open shared object file: No such file or directory",
            "/app/libLibTorchSharp.so: cannot open shared object file: No such file or directory"), TorchSharp);

        Assert.Contains("neither next to the program nor in its runtimes/linux-x64/native folder", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Anything_else_quotes_the_loader()
    {
        var message = NativeLoadDiagnosis.Explain(Loader("/app/libLibTorchSharp.so: cannot enable executable stack as shared object requires: Invalid argument"), TorchSharp);

        Assert.Contains("The loader said: /app/libLibTorchSharp.so: cannot enable executable stack", message, StringComparison.Ordinal);
    }

    private static string Loader(params string[] lines) => Headline + "\n" + string.Join("\n", lines) + "\n";
}
