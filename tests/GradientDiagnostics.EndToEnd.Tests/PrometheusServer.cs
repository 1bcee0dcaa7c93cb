using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using GradientDiagnostics.Tests.Shared;

namespace GradientDiagnostics.EndToEnd.Tests;

/// <summary>
/// A real Prometheus server (Debian's /usr/bin/prometheus) with its own config and storage in a temporary folder,
/// on a free loopback port, scraping the given targets every second. Disposing kills it and removes the folder.
/// </summary>
internal sealed class PrometheusServer : IDisposable
{
    public const string Executable = "/usr/bin/prometheus";

    private readonly Process process;
    private readonly string folder;
    private readonly StringWriter log = new();
    private readonly HttpClient http;

    private PrometheusServer(Process process, string folder, Uri address)
    {
        this.process = process;
        this.folder = folder;
        http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    public static PrometheusServer Start(IEnumerable<string> targets)
    {
        var executable = ExternalTool.Require(Executable, "prometheus");
        var folder = Directory.CreateTempSubdirectory("gd-prometheus-").FullName;
        var config = Path.Combine(folder, "prometheus.yml");
        File.WriteAllText(config, string.Join('\n',
            "global:",
            "  scrape_interval: 1s",
            "  scrape_timeout: 1s",
            "scrape_configs:",
            "  - job_name: adding-problem",
            "    static_configs:",
            "      - targets: [" + string.Join(", ", targets.Select(t => "'" + t + "'")) + "]",
            ""));

        var port = Demo.FreePort();
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = folder,
        };
        foreach (var argument in new[]
        {
            "--config.file=" + config,
            "--storage.tsdb.path=" + Path.Combine(folder, "data"),
            "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "--log.level=warn",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var server = new PrometheusServer(process, folder, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Runs an instant query through /api/v1/query and returns the label sets and values of its result.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promQl)
    {
        using var response = await http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promQl));
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            // While its storage starts, Prometheus answers 503 with a plain-text body: not ready yet, so ask again.
            throw new HttpRequestException($"Prometheus is not ready: {await response.Content.ReadAsStringAsync()}", null, response.StatusCode);
        }

        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (!response.IsSuccessStatusCode || body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Prometheus rejected '{promQl}': {body}");
        }

        return body.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(series => (
                (IReadOnlyDictionary<string, string>)series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))
            .ToArray();
    }

    /// <summary>Polls <paramref name="promQl"/> until <paramref name="done"/> holds for its result.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> WaitForAsync(
        string promQl,
        Func<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>, bool> done,
        TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<(IReadOnlyDictionary<string, string>, double)> result = Array.Empty<(IReadOnlyDictionary<string, string>, double)>();
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Prometheus exited with code {process.ExitCode}:\n{Log}");
            }

            try
            {
                result = await QueryAsync(promQl);
                if (done(result))
                {
                    return result;
                }
            }
            catch (HttpRequestException)
            {
                // Still starting up.
            }

            await Task.Delay(500);
        }

        var targets = await SafeGetAsync("api/v1/targets");
        throw new Xunit.Sdk.XunitException(
            $"Prometheus did not return the expected result for '{promQl}' within {timeout.TotalSeconds} s. Last result: "
            + string.Join("; ", result.Select(r => string.Join(",", r.Item1.Select(l => l.Key + "=" + l.Value)) + " " + r.Item2))
            + $"\nTargets: {targets}\nLog:\n{Log}");
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        process.Dispose();
        http.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    private async Task<string> SafeGetAsync(string path)
    {
        try
        {
            return await http.GetStringAsync(path);
        }
        catch (HttpRequestException exception)
        {
            return exception.Message;
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }
}
