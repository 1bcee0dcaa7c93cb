using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;

namespace GradientDiagnostics.EndToEnd.Tests;

/// <summary>
/// --otlp sends to any OTLP receiver, over gRPC or HTTP/protobuf. The receiver here is a standalone Aspire
/// dashboard the test starts itself (unsecured, loopback only); its telemetry API shows what arrived.
/// </summary>
public sealed class OtlpExportTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("gd-otlp-demo-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    // Spans over OTLP are checked by AspireDashboardTests; here the transport matters (HTTP needs a path per signal).
    [Theory]
    [InlineData("grpc")]
    [InlineData("http")]
    public async Task Metrics_reach_an_otlp_receiver(string protocol)
    {
        var frontend = Demo.FreePort();
        var grpc = Demo.FreePort();
        var http = Demo.FreePort();
        using var receiver = StartReceiver(frontend, grpc, http);
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{frontend}/"), Timeout = TimeSpan.FromSeconds(10) };
        await WaitAsync(async () =>
        {
            try
            {
                return (await api.GetAsync("api/telemetry/resources")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the receiver to start");

        var endpoint = $"http://127.0.0.1:{(protocol == "grpc" ? grpc : http).ToString(CultureInfo.InvariantCulture)}";
        var runId = "e2e-otlp-" + protocol;
        var (exitCode, output) = await Demo.RunAsync(
            Demo.QuickTraining.Concat(new[] { "--otlp", endpoint, "--otlp-protocol", protocol, "--run-id", runId, "--report", Path.Combine(folder, "report.html") }),
            TimeSpan.FromMinutes(3));
        Assert.True(exitCode == 0, output);
        Assert.Contains($"Sending OTLP ({protocol}) to {endpoint}", output, StringComparison.Ordinal);

        // The demo flushes every exporter when it exits, so everything has been sent by now.
        await WaitAsync(async () =>
        {
            var resources = await api.GetFromJsonAsync<JsonElement>("api/telemetry/resources");
            return resources.EnumerateArray().Any(r =>
                r.GetProperty("instanceId").GetString() == runId
                && r.GetProperty("hasMetrics").GetBoolean());
        }, $"resource {runId} with metrics");
    }

    private static Receiver StartReceiver(int frontend, int grpc, int http)
    {
        var directory = typeof(OtlpExportTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "AspireDashboardDirectory").Value!;
        var start = new ProcessStartInfo(Path.Combine(directory, "Aspire.Dashboard"))
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{frontend}";
        start.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{grpc}";
        start.Environment["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = $"http://127.0.0.1:{http}";
        start.Environment["Dashboard__Frontend__AuthMode"] = "Unsecured";
        start.Environment["Dashboard__Otlp__AuthMode"] = "Unsecured";
        start.Environment["Dashboard__Api__Enabled"] = "true";
        start.Environment["Dashboard__Api__AuthMode"] = "Unsecured";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Receiver(process);
    }

    /// <summary>The receiving dashboard; disposing kills it.</summary>
    private sealed class Receiver(Process process) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            process.Dispose();
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"Timed out waiting for {what}.");
            }

            await Task.Delay(500);
        }
    }
}
