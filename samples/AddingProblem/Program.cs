using System.CommandLine;
using AddingProblem;

// The first Ctrl+C stops training after the current step; the steps done are still summarised and reported.
// A second one ends the process at once.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
return await Cli.Build(DemoRun.RunAsync).Parse(args).InvokeAsync(invocation, cancellation.Token);
