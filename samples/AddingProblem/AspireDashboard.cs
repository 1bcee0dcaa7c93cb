using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;

namespace AddingProblem;

/// <summary>
/// The standalone Aspire dashboard from the NuGet package Aspire.Dashboard.Sdk.linux-x64 (fetched by restore through
/// the sample's PackageDownload), run as a child process bound to 127.0.0.1 on free ports. The browser login needs
/// a token and OTLP needs an API key, both fresh per run, so other local users can neither read nor inject telemetry.
/// </summary>
public sealed class AspireDashboard : IDisposable
{
    /// <summary>Overrides where the dashboard executable is looked for.</summary>
    public const string PathVariable = "ASPIRE_DASHBOARD_PATH";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly Process process;
    private readonly StreamWriter log;
    private bool disposed;

    private AspireDashboard(Process process, StreamWriter log, Uri frontend, string browserToken, Uri otlpGrpc, string apiKey, string logPath)
    {
        this.process = process;
        this.log = log;
        Frontend = frontend;
        LoginUrl = new Uri(frontend, "login?t=" + browserToken);
        Otlp = new OtlpTarget(otlpGrpc, OtlpProtocol.Grpc, "x-otlp-api-key=" + apiKey);
        LogPath = logPath;
    }

    public Uri Frontend { get; }

    /// <summary>Opens the dashboard already logged in.</summary>
    public Uri LoginUrl { get; }

    public OtlpTarget Otlp { get; }

    /// <summary>The dashboard's own console output.</summary>
    public string LogPath { get; }

    public static async Task<AspireDashboard> StartAsync(string logPath, CancellationToken cancellation)
    {
        var executable = Locate();
        EnsureExecutable(executable);

        var frontend = new Uri($"http://127.0.0.1:{FreePort()}/");
        var otlpGrpc = new Uri($"http://127.0.0.1:{FreePort()}/");
        var otlpHttp = new Uri($"http://127.0.0.1:{FreePort()}/");
        var browserToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var apiKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = Path.GetDirectoryName(executable)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_URLS"] = frontend.AbsoluteUri.TrimEnd('/');
        start.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = otlpGrpc.AbsoluteUri.TrimEnd('/');
        start.Environment["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = otlpHttp.AbsoluteUri.TrimEnd('/');
        start.Environment["Dashboard__Frontend__AuthMode"] = "BrowserToken";
        start.Environment["Dashboard__Frontend__BrowserToken"] = browserToken;
        start.Environment["Dashboard__Otlp__AuthMode"] = "ApiKey";
        start.Environment["Dashboard__Otlp__PrimaryApiKey"] = apiKey;

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listening = 0;
        AspireDashboard? dashboard = null;
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (log)
            {
                // The last lines can arrive while the dashboard is being stopped.
                if (dashboard?.disposed == true)
                {
                    return;
                }

                log.WriteLine(line);
            }

            // One line per endpoint: the frontend, OTLP/gRPC and OTLP/HTTP.
            if (line.Contains("listening on:", StringComparison.OrdinalIgnoreCase) && Interlocked.Increment(ref listening) == 3)
            {
                ready.TrySetResult();
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) =>
        {
            if (ready.Task.IsCompleted)
            {
                return;
            }

            var code = process.HasExited ? process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
            ready.TrySetException(new InvalidOperationException(
                $"The Aspire dashboard exited with code {code} before it was ready; see {Path.GetFullPath(logPath)}."));
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        dashboard = new AspireDashboard(process, log, frontend, browserToken, otlpGrpc, apiKey, Path.GetFullPath(logPath));
        try
        {
            await ready.Task.WaitAsync(StartTimeout, cancellation);
        }
        catch (TimeoutException)
        {
            dashboard.Dispose();
            throw new InvalidOperationException($"The Aspire dashboard did not start within {StartTimeout.TotalSeconds} s; see {dashboard.LogPath}.");
        }
        catch
        {
            dashboard.Dispose();
            throw;
        }

        return dashboard;
    }

    /// <summary>Stops the dashboard and everything it started. Safe to call more than once, from any thread.</summary>
    public void Dispose()
    {
        lock (log)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }

        process.Dispose();
        lock (log)
        {
            log.Dispose();
        }
    }

    private static string Locate()
    {
        var configured = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured)
                ? configured
                : throw new FileNotFoundException($"{PathVariable} points to '{configured}', which does not exist.", configured);
        }

        var directory = typeof(AspireDashboard).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "AspireDashboardDirectory")?.Value;
        var executable = string.IsNullOrEmpty(directory) ? null : Path.Combine(directory, "Aspire.Dashboard");
        return executable is not null && File.Exists(executable)
            ? executable
            : throw new FileNotFoundException(
                $"The Aspire dashboard was not found at '{executable}'. Restore the sample (dotnet restore samples/AddingProblem) "
                + $"so NuGet fetches Aspire.Dashboard.Sdk.linux-x64, or set {PathVariable} to the Aspire.Dashboard executable.");
    }

    private static void EnsureExecutable(string executable)
    {
        // NuGet does not keep file modes on every platform; the dashboard cannot start without its run bit.
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(executable) & UnixFileMode.UserExecute) == 0)
        {
            File.SetUnixFileMode(executable, File.GetUnixFileMode(executable) | UnixFileMode.UserExecute);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
