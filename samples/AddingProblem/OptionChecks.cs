using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AddingProblem;

/// <summary>
/// Checks what the options name outside the program — the report file, the OTLP endpoint, the Prometheus port and
/// host — before training starts, so a value that cannot work stops the demo at once with one line that names the
/// option and the cause, instead of a stack trace after minutes of training.
/// </summary>
public static class OptionChecks
{
    /// <summary>An OTLP endpoint: an absolute http(s) URL with a host, without user info, query or fragment; else null.</summary>
    public static Uri? OtlpEndpoint(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && uri.Host.Length > 0
        && uri.UserInfo.Length == 0
        && uri.Query.Length == 0
        && uri.Fragment.Length == 0
            ? uri
            : null;

    /// <summary>The first option whose value cannot work on this machine, as one line; null when all can.</summary>
    public static string? FirstProblem(DemoSettings settings) =>
        MemoryProblem(settings.Batch, settings.SeqLen, settings.Hidden, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)
        ?? ReportProblem(settings.ReportPath)
        ?? (settings.CalibrationPath is { } calibration ? CalibrationProblem(calibration) : null)
        ?? (settings.PrometheusPort is { } port ? PrometheusProblem(settings.PrometheusHost, port) : null);

    /// <summary>
    /// One training step fits in the memory this process may use (<paramref name="availableBytes"/>, which honours a
    /// container's limit). Otherwise a large <c>--batch</c>, <c>--seq-len</c> or <c>--hidden</c> ends in LibTorch's
    /// allocation error with a native stack trace — or, short of that, in the kernel killing the process mid-run.
    /// The estimate is the peak resident memory of the three models trained side by side (measured: 2.0 GB at batch
    /// 1024 × 200 timesteps × 128 hidden, 0.9 GB at 8 × 10 × 2048): about 80 bytes per batch × timestep × hidden unit
    /// (activations kept for backward, their gradients, the watch's per-timestep gradients) and 160 bytes per hidden²
    /// (the recurrent weights with their gradients and Adam's moments) above 256 MB for the runtime and LibTorch.
    /// </summary>
    public static string? MemoryProblem(int batch, int seqLen, int hidden, long availableBytes)
    {
        var needed = 256e6 + 80.0 * batch * seqLen * hidden + 160.0 * hidden * hidden;
        return needed <= availableBytes
            ? null
            : $"--batch {batch}, --seq-len {seqLen} and --hidden {hidden} need about {Gigabytes(needed)} of memory for a training step, " +
                $"more than the {Gigabytes(availableBytes)} available; lower one of them.";
    }

    private static string Gigabytes(double bytes) => (bytes / 1e9).ToString(bytes < 1e10 ? "0.0" : "N0", CultureInfo.InvariantCulture) + " GB";

    /// <summary>The report can be written: not a folder, no file where a folder must be, the folder writable.</summary>
    public static string? ReportProblem(string path) =>
        OutputFileProblem("--report", path, "HTML file", "adding-problem-report.html", replacedByRename: false);

    /// <summary>
    /// The calibration file can be written: as the report, except that an existing file is replaced by a rename
    /// (GradientWatch.WriteCalibration writes a temporary file next to it), so it is its folder that must be writable.
    /// </summary>
    public static string? CalibrationProblem(string path) =>
        OutputFileProblem("--calibration", path, "calibration file", "gradient-calibration.json", replacedByRename: true)
        ?? ExistingCalibrationProblem(path);

    /// <summary>
    /// An existing file must be a calibration file: the watch keeps other models' entries, so it leaves any other file
    /// unchanged and refuses to write — which would otherwise only show after the whole run.
    /// </summary>
    private static string? ExistingCalibrationProblem(string path)
    {
        const string Schema = "gradient-diagnostics/calibration/v1";
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            return null;
        }

        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return $"--calibration: cannot read '{path}': {exception.Message}";
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        string problem;
        try
        {
            problem = JsonNode.Parse(text) is not JsonObject root ? "its root is not a JSON object"
                : root["schema"] is not JsonValue schema || !schema.TryGetValue<string>(out var name) ? "it has no \"schema\" string"
                : name != Schema ? $"its schema is '{name}'"
                : root["models"] is not JsonArray ? "it has no \"models\" array"
                : "";
        }
        catch (JsonException exception)
        {
            problem = $"it is not valid JSON: {exception.Message}";
        }

        return problem.Length == 0
            ? null
            : $"--calibration: '{path}' is not a {Schema} file ({problem}); the run would leave it unchanged. Fix or delete it, or choose another path.";
    }

    private static string? OutputFileProblem(string option, string path, string what, string example, bool replacedByRename)
    {
        var fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
        {
            return $"{option}: '{path}' is a folder; give the path of the {what} to write, e.g. '{Path.Combine(path, example)}'.";
        }

        // The nearest folder that exists: the file's folder, or the one in which the missing folders will be created.
        var folder = Path.GetDirectoryName(fullPath)!;
        while (!Directory.Exists(folder))
        {
            if (File.Exists(folder))
            {
                return $"{option}: cannot write '{path}': '{folder}' is a file, not a folder.";
            }

            folder = Path.GetDirectoryName(folder)!;
        }

        var writtenInPlace = File.Exists(fullPath) && !replacedByRename;
        try
        {
            if (writtenInPlace)
            {
                // Opened for writing without truncating: the previous file stays if training is interrupted.
                using var existing = new FileStream(fullPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            }
            else
            {
                using var probe = new FileStream(Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.probe"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
        }
        catch (UnauthorizedAccessException)
        {
            return $"{option}: cannot write '{path}': permission denied in '{(writtenInPlace ? fullPath : folder)}'.";
        }
        catch (IOException exception) when (writtenInPlace)
        {
            return $"{option}: cannot write '{path}': {exception.Message}";
        }
        catch (IOException)
        {
            return $"{option}: cannot write '{path}': no file can be created in '{folder}'.";
        }

        return null;
    }

    /// <summary>The scrape endpoint can listen where the exporter will: the host resolves to a local address and the port is free.</summary>
    public static string? PrometheusProblem(string host, int port)
    {
        IPAddress[] addresses;
        if (host is "+" or "*")
        {
            addresses = [IPAddress.Any];
        }
        else
        {
            try
            {
                addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : Dns.GetHostAddresses(host);
            }
            catch (SocketException exception)
            {
                return $"--prometheus-host: cannot resolve '{host}': {exception.Message}.";
            }
        }

        // The exporter listens if it can bind any of the host's addresses (e.g. localhost without IPv6 still has 127.0.0.1).
        SocketException? refused = null;
        var bound = false;
        foreach (var address in addresses)
        {
            try
            {
                using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(address, port));
                bound = true;
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                return $"--prometheus: port {port} on {host} is already in use; choose a free port, e.g. --prometheus {FreePort()}.";
            }
            catch (SocketException exception)
            {
                refused ??= exception;
            }
        }

        if (!bound)
        {
            return $"--prometheus-host: cannot listen on '{host}' port {port}: {refused?.Message ?? "no address"}.";
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
