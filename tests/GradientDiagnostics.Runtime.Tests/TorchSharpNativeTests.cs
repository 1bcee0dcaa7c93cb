using GradientDiagnostics.Tests.Shared;
using TorchSharp;
using static TorchSharp.torch;

namespace GradientDiagnostics.Runtime.Tests;

/// <summary>
/// Proves the native TorchSharp library loads in the test process (on Debian 12 only after the build's
/// GLIBCXX_3.4.32 step) and that autograd through an LSTM is numerically right.
/// </summary>
public class TorchSharpNativeTests
{
    [Fact]
    public void Lstm_forward_and_backward_run_and_match_a_finite_difference()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(7);
        using var lstm = nn.LSTM(3, 5, batchFirst: true);
        lstm.to(float64);
        var x = randn(2, 4, 3, dtype: float64).requires_grad_(true);

        var (y, h, c) = lstm.call(x);
        Assert.Equal(new long[] { 2, 4, 5 }, y.shape);
        Assert.Equal(new long[] { 1, 2, 5 }, h.shape);
        Assert.Equal(new long[] { 1, 2, 5 }, c.shape);

        y.pow(2).sum().backward();
        var analytic = x.grad!.clone();
        Assert.True(analytic.abs().sum().item<double>() > 0);

        // Central finite difference on one input element checks the backward pass is the derivative of the forward one.
        const double eps = 1e-6;
        double Loss(double delta)
        {
            using var noGrad = no_grad();
            var shifted = x.detach().clone();
            shifted[1, 2, 0] = shifted[1, 2, 0] + delta;
            var (out_, _, _) = lstm.call(shifted);
            return out_.pow(2).sum().item<double>();
        }

        var numeric = (Loss(eps) - Loss(-eps)) / (2 * eps);
        Assert.Equal(numeric, analytic[1, 2, 0].item<double>(), 6);

        foreach (var (name, parameter) in lstm.named_parameters())
        {
            using var grad = parameter.grad;
            Assert.NotNull(grad);
            Assert.True(double.IsFinite(grad!.norm().item<double>()), name);
        }
    }

    [Fact]
    public void Build_step_patches_only_the_output_copy_and_only_the_version_flag()
    {
        var output = Path.GetDirectoryName(typeof(TorchSharpNativeTests).Assembly.Location)!;
        var copy = Assert.Single(Directory.GetFiles(output, "libLibTorchSharp.so", SearchOption.AllDirectories));
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var original = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(original), $"TorchSharp's native library not found in the NuGet cache at {original}");

        var copyBytes = File.ReadAllBytes(copy);
        var originalBytes = File.ReadAllBytes(original);
        Assert.Equal(originalBytes.Length, copyBytes.Length);
        var differences = Enumerable.Range(0, copyBytes.Length).Where(i => copyBytes[i] != originalBytes[i]).ToList();

        if (SystemLibstdcxx.Has("GLIBCXX_3.4.32"))
        {
            Assert.Empty(differences);
            return;
        }

        // Exactly one byte differs: the low byte of one Elf64_Vernaux.vna_flags, which gains VER_FLG_WEAK (0x2).
        var offset = Assert.Single(differences);
        Assert.Equal(originalBytes[offset] | 0x2, copyBytes[offset]);
        Assert.Equal(0, originalBytes[offset] & 0x2);

        using var t = ones(3).mul(2).sum();
        Assert.Equal(6f, t.item<float>());
    }
}
