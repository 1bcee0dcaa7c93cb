using System.CommandLine;

namespace AddingProblem;

/// <summary>
/// An option whose value is one member of an enum, written in lower case (<c>--model risky</c>). The accepted words,
/// the help's <c>&lt;all|risky|exploding|recommended&gt;</c> and the error message all come from the enum's members, so a new member
/// is accepted, shown and listed without touching this code.
/// </summary>
public static class ChoiceOption
{
    public static Option<string> Create<T>(string name, T defaultValue, string description)
        where T : struct, Enum
    {
        var choices = Choices<T>();
        var option = new Option<string>(name)
        {
            HelpName = string.Join('|', choices),
            Description = description,
            DefaultValueFactory = _ => Word(defaultValue),
            CustomParser = result =>
            {
                var given = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
                var match = choices.FirstOrDefault(choice => string.Equals(choice, given, StringComparison.OrdinalIgnoreCase));
                if (match is null)
                {
                    result.AddError($"{name} must be one of {string.Join('|', choices)}, got '{given}'.");
                    return Word(defaultValue);
                }

                return match;
            },
        };
        option.CompletionSources.Add(choices);
        return option;
    }

    /// <summary>The member a parsed value names.</summary>
    public static T Value<T>(string word)
        where T : struct, Enum => Enum.Parse<T>(word, ignoreCase: true);

    private static string[] Choices<T>()
        where T : struct, Enum => Enum.GetValues<T>().Select(Word).ToArray();

    private static string Word<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
