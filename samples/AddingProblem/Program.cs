using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using AddingProblem;

// Ctrl+C, a closed terminal (SIGHUP) and SIGTERM stop training after the current step; the steps done are still
// summarised and reported, and the dashboard the demo started is stopped. A second Ctrl+C ends the process at once.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopGracefully);
using var onHangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, StopGracefully);

var parse = Cli.Build(DemoRun.RunAsync).Parse(args);
if (parse.Action is ParseErrorAction)
{
    return UsageErrors.Report(parse.Errors.Select(e => e.Message).ToList(), Console.Error);
}

var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
return await parse.InvokeAsync(invocation, cancellation.Token);

void StopGracefully(PosixSignalContext context)
{
    context.Cancel = true;
    cancellation.Cancel();
}
