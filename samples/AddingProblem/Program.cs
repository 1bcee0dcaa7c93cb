using AddingProblem;

return await Cli.Build(DemoRun.RunAsync).Parse(args).InvokeAsync();
