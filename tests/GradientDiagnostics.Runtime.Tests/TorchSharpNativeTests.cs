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
    public void Native_library_in_the_output_loads_with_this_machines_libstdcxx()
    {
        // The build step patches only the copy in the output folder, never the NuGet cache.
        var output = Path.GetDirectoryName(typeof(TorchSharpNativeTests).Assembly.Location)!;
        var native = Directory.GetFiles(output, "libLibTorchSharp.so", SearchOption.AllDirectories);
        Assert.NotEmpty(native);
        using var t = ones(3).mul(2).sum();
        Assert.Equal(6f, t.item<float>());
    }
}
