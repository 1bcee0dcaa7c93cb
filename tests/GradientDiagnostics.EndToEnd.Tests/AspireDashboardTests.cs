using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace GradientDiagnostics.EndToEnd.Tests;

/// <summary>
/// --dashboard starts the standalone Aspire dashboard from the NuGet package, exports to it, and stops it on exit.
/// The dashboard's own telemetry API (enabled for the test through the environment the demo passes on) shows what
/// it received.
/// </summary>
public sealed class AspireDashboardTests : IDisposable
{
    private const string ApiKey = "end-to-end-test-key";
    private readonly string folder = Directory.CreateTempSubdirectory("gd-aspire-demo-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public async Task Dashboard_receives_the_demo_metrics_and_spans_and_stops_with_the_demo()
    {
        var environment = new Dictionary<string, string>
        {
            ["Dashboard__Api__Enabled"] = "true",
            ["Dashboard__Api__AuthMode"] = "ApiKey",
            ["Dashboard__Api__PrimaryApiKey"] = ApiKey,
        };
        using var demo = Demo.Start(
            Demo.QuickTraining.Concat(new[] { "--dashboard", "--run-id", "e2e-aspire", "--report", Path.Combine(folder, "report.html") }),
            environment);

        var login = new Uri((await demo.WaitForLineAsync(@"^Aspire dashboard: (http://127\.0\.0\.1:\d+/login\?t=[0-9a-f]{32})$", TimeSpan.FromMinutes(3))).Groups[1].Value);
        await demo.WaitForLineAsync("^Training finished", TimeSpan.FromMinutes(2));
        var frontend = new Uri(login.GetLeftPart(UriPartial.Authority) + "/");

        using var http = new HttpClient { BaseAddress = frontend, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Add("x-api-key", ApiKey);

        // Metrics are exported every 2 s and spans in batches every 5 s; the resource carries the run id as its instance.
        await PollAsync("the AddingProblem resource with metrics and traces", async () =>
        {
            var resources = await http.GetFromJsonAsync<JsonElement>("api/telemetry/resources");
            return resources.EnumerateArray().Any(r =>
                r.GetProperty("name").GetString() == "AddingProblem"
                && r.GetProperty("instanceId").GetString() == "e2e-aspire"
                && r.GetProperty("hasMetrics").GetBoolean()
                && r.GetProperty("hasTraces").GetBoolean());
        });

        // One gradient.record span per recorded step: 6 steps for each of the three models.
        string?[] records = Array.Empty<string?>();
        await PollAsync("a gradient.record span for each of the 18 steps", async () =>
        {
            var spans = await http.GetFromJsonAsync<JsonElement>("api/telemetry/spans?limit=1000");
            records = spans.GetProperty("data").GetProperty("resourceSpans").EnumerateArray()
                .SelectMany(r => r.GetProperty("scopeSpans").EnumerateArray())
                .Where(s => s.GetProperty("scope").GetProperty("name").GetString() == "GradientDiagnostics")
                .SelectMany(s => s.GetProperty("spans").EnumerateArray())
                .Where(s => s.GetProperty("name").GetString() == "gradient.record")
                .Select(s => s.GetProperty("attributes").EnumerateArray().First(a => a.GetProperty("key").GetString() == "gradient.model")
                    .GetProperty("value").GetProperty("stringValue").GetString())
                .ToArray();
            return records.Length >= 18;
        });
        Assert.Equal(6, records.Count(m => m == "RiskyModel"));
        Assert.Equal(6, records.Count(m => m == "RiskyExplodingModel"));
        Assert.Equal(6, records.Count(m => m == "RecommendedModel"));

        // The printed login URL signs a browser in; a wrong token does not.
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(10) };
        using var withToken = await browser.GetAsync(login);
        Assert.Contains(withToken.Headers.GetValues("Set-Cookie"), c => c.StartsWith(".Aspire.Dashboard.Auth", StringComparison.Ordinal));
        using var wrongToken = await browser.GetAsync(new Uri(frontend, "login?t=" + new string('0', 32)));
        Assert.DoesNotContain(
            wrongToken.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : Array.Empty<string>(),
            c => c.StartsWith(".Aspire.Dashboard.Auth", StringComparison.Ordinal));

        demo.PressEnter();
        await demo.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Assert.True(demo.ExitCode == 0, demo.Output);
        await Assert.ThrowsAnyAsync<SocketException>(async () =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, frontend.Port);
        });
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task Ctrl_c_or_sigterm_stops_the_dashboard_too(string signal)
    {
        using var demo = Demo.Start(Demo.QuickTraining.Concat(new[] { "--dashboard", "--report", Path.Combine(folder, "report.html") }));
        var login = new Uri((await demo.WaitForLineAsync(@"^Aspire dashboard: (http://127\.0\.0\.1:\d+/login\?t=[0-9a-f]{32})$", TimeSpan.FromMinutes(3))).Groups[1].Value);
        await demo.WaitForLineAsync("^Training finished", TimeSpan.FromMinutes(2));

        demo.Signal(signal);
        await demo.WaitForExitAsync(TimeSpan.FromMinutes(1));

        await Assert.ThrowsAnyAsync<SocketException>(async () =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, login.Port);
        });
    }

    private static async Task PollAsync(string what, Func<Task<bool>> probe)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await probe())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"The dashboard never showed {what}.");
            }

            await Task.Delay(500);
        }
    }
}
