namespace AddingProblem;

/// <summary>
/// How the demo reports a bad command line: each error on one line that names the option and the cause, the last one
/// pointing to --help, exit code 2 (the usual code for a usage error), and no help dump.
/// </summary>
public static class UsageErrors
{
    public const int ExitCode = 2;

    public static int Report(IReadOnlyList<string> errors, TextWriter output)
    {
        for (var i = 0; i < errors.Count; i++)
        {
            var line = errors[i].ReplaceLineEndings(" ").Trim();
            output.WriteLine(i == errors.Count - 1 ? $"{line} Run with --help for the options." : line);
        }

        return ExitCode;
    }
}
