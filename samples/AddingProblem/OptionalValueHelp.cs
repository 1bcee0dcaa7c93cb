using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Text.RegularExpressions;

namespace AddingProblem;

/// <summary>
/// The help System.CommandLine writes, with the value of an option that may be left out shown as optional:
/// <c>--prometheus [&lt;port&gt;]</c> instead of <c>--prometheus &lt;port&gt;</c> (its help layout is not public to change).
/// </summary>
public sealed class OptionalValueHelp(HelpAction help, IReadOnlyList<Option> options) : SynchronousCommandLineAction
{
    public override bool ClearsParseErrors => true;

    /// <summary>Replaces the help action of <paramref name="root"/> for every option whose arity lets the value be left out.</summary>
    public static void Install(RootCommand root)
    {
        var helpOption = root.Options.OfType<HelpOption>().Single();
        var optional = root.Options.Where(o => o.Arity.MinimumNumberOfValues == 0 && o.Arity.MaximumNumberOfValues > 0).ToList();
        helpOption.Action = new OptionalValueHelp((HelpAction)helpOption.Action!, optional);
    }

    public override int Invoke(ParseResult parseResult)
    {
        var configuration = parseResult.InvocationConfiguration;
        var output = configuration.Output;
        var captured = new StringWriter();
        configuration.Output = captured;
        int exitCode;
        try
        {
            exitCode = help.Invoke(parseResult);
        }
        finally
        {
            configuration.Output = output;
        }

        var text = captured.ToString();
        foreach (var option in options)
        {
            // Two characters more for the brackets, taken from the padding so the descriptions stay aligned.
            text = Regex.Replace(
                text,
                $@"(?m)^(?<name>\s+{Regex.Escape(option.Name)}) <(?<value>{Regex.Escape(option.HelpName ?? option.Name.TrimStart('-'))})>(?<pad> *)",
                m => $"{m.Groups["name"].Value} [<{m.Groups["value"].Value}>]{(m.Groups["pad"].Length > 2 ? m.Groups["pad"].Value[2..] : " ")}");
        }

        output.Write(text);
        return exitCode;
    }
}
