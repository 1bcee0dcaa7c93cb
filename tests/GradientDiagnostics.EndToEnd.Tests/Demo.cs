using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.RegularExpressions;

namespace GradientDiagnostics.EndToEnd.Tests;

/// <summary>
/// The AddingProblem sample as a separate process (its built dll, run with <c>dotnet exec</c>), with its output
/// collected line by line so a test can wait for what it prints. Disposing kills it and whatever it started.
/// </summary>
internal sealed class Demo : IDisposable
{
    /// <summary>Few steps on short sequences: each end-to-end test trains for a second or two.</summary>
    public static readonly string[] QuickTraining = { "--steps", "6", "--seq-len", "8", "--batch", "8", "--hidden", "8" };

    private readonly Process process;
    private readonly ConcurrentQueue<string> lines = new();
    private readonly SemaphoreSlim lineArrived = new(0);

    private Demo(Process process)
    {
        this.process = process;
    }

    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    public static string Dll { get; } = LocateDll();

    public string Output => string.Join('\n', lines);

    public int? ExitCode => process.HasExited ? process.ExitCode : null;

    public static Demo Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var demo = new Demo(process);
        process.OutputDataReceived += (_, e) => demo.Add(e.Data);
        process.ErrorDataReceived += (_, e) => demo.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return demo;
    }

    /// <summary>Runs the demo to the end and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> arguments, TimeSpan timeout)
    {
        using var demo = Start(arguments);
        demo.process.StandardInput.Close();
        await demo.WaitForExitAsync(timeout);
        return (demo.process.ExitCode, demo.Output);
    }

    /// <summary>Waits until a line matches <paramref name="pattern"/> and returns the match.</summary>
    public async Task<Match> WaitForLineAsync(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var line in lines)
            {
                var match = regex.Match(line);
                if (match.Success)
                {
                    return match;
                }
            }

            var left = deadline - DateTime.UtcNow;
            if (process.HasExited && lineArrived.CurrentCount == 0)
            {
                // Let the output readers drain before giving up.
                process.WaitForExit();
                if (lines.Any(regex.IsMatch))
                {
                    continue;
                }

                throw new Xunit.Sdk.XunitException($"The demo exited with code {process.ExitCode} without printing /{pattern}/. Output:\n{Output}");
            }

            if (left <= TimeSpan.Zero)
            {
                throw new Xunit.Sdk.XunitException($"The demo printed no line matching /{pattern}/ within {timeout.TotalSeconds} s. Output:\n{Output}");
            }

            await lineArrived.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Presses Enter, which ends the demo's hold after training.</summary>
    public void PressEnter()
    {
        process.StandardInput.WriteLine();
        process.StandardInput.Flush();
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"The demo did not exit within {timeout.TotalSeconds} s. Output:\n{Output}");
        }

        // The parameterless wait also waits for the redirected output to be read to its end.
        process.WaitForExit();
    }

    /// <summary>Sends SIGINT, as Ctrl+C in a terminal does.</summary>
    public void Interrupt() => Signal("INT");

    /// <summary>Sends a signal by name (INT, TERM, HUP…), as a terminal, a job scheduler or a container runtime does.</summary>
    public void Signal(string name)
    {
        if (!process.HasExited)
        {
            using var kill = Process.Start("kill", new[] { "-" + name, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            kill.WaitForExit();
        }
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
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
            lineArrived.Release();
        }
    }

    private static string Metadata(string key) =>
        typeof(Demo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private static string LocateDll()
    {
        var dll = Path.Combine(RepositoryRoot, "samples", "AddingProblem", "bin", Metadata("Configuration"), Metadata("AppTargetFramework"), "AddingProblem.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"The AddingProblem sample is not built at {dll}; build the test project (it builds the sample first).", dll);
    }
}
