using System;
using System.Globalization;
using System.Text;

namespace GradientDiagnostics.Analyzers;

/// <summary>A JSON text that breaks RFC 8259, at <see cref="Position"/> (a character offset).</summary>
internal sealed class JsonSyntaxException : Exception
{
    public JsonSyntaxException(int position, int length, string message)
        : base(message)
    {
        Position = position;
        Length = length;
    }

    public int Position { get; }

    public int Length { get; }
}

/// <summary>The kind of JSON value that starts at the reader's position.</summary>
internal enum JsonValueKind
{
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// <summary>
/// A pull reader of strict JSON (RFC 8259) over a string, for the calibration file: the analyzer cannot ship
/// System.Text.Json (hosts load their own copy, and two versions of it in one process conflict), and the file is small,
/// so a caller walks it once and keeps only what it asks for — no document tree is built. Strict: no comments, no
/// trailing commas, no single quotes, no NaN/Infinity, no leading '+' or zeros, no control characters in strings, nothing
/// after the root value; a byte order mark at the start is skipped. (Duplicate property names are the caller's to
/// refuse, in the objects it reads.)
/// Every violation throws <see cref="JsonSyntaxException"/> at the offending position. Nesting is limited to
/// <see cref="MaxDepth"/> levels, so a hostile file cannot exhaust the stack.
/// </summary>
internal sealed class StrictJsonReader
{
    public const int MaxDepth = 64;

    private readonly string text;
    private int position;
    private int depth;

    public StrictJsonReader(string text)
        : this(text, text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0)
    {
    }

    /// <summary>A reader that starts at <paramref name="start"/>, e.g. at a value an earlier pass skipped.</summary>
    public StrictJsonReader(string text, int start)
    {
        this.text = text;
        position = start;
    }

    /// <summary>The offset of the next character to read.</summary>
    public int Position => position;

    /// <summary>True when the text holds nothing but whitespace (and a byte order mark).</summary>
    public bool IsBlank()
    {
        SkipWhitespace();
        return position == text.Length;
    }

    /// <summary>The kind of the value that starts here (after whitespace); throws when no value starts here.</summary>
    public JsonValueKind PeekValue()
    {
        SkipWhitespace();
        if (position == text.Length)
        {
            throw Error("the text ends where a value was expected");
        }

        return text[position] switch
        {
            '{' => JsonValueKind.Object,
            '[' => JsonValueKind.Array,
            '"' => JsonValueKind.String,
            't' => JsonValueKind.True,
            'f' => JsonValueKind.False,
            'n' => JsonValueKind.Null,
            '-' or (>= '0' and <= '9') => JsonValueKind.Number,
            _ => throw Unexpected("a value"),
        };
    }

    /// <summary>Reads '{'; then call <see cref="NextProperty"/> until it returns false.</summary>
    public void StartObject() => Start('{', "an object ('{')");

    /// <summary>Reads '['; then call <see cref="NextElement"/> until it returns false.</summary>
    public void StartArray() => Start('[', "an array ('[')");

    /// <summary>
    /// Moves to the next property of the object being read: true with its name (the reader then stands at its value, which
    /// the caller must read or skip), false after the closing '}'. <paramref name="first"/> starts true for each object.
    /// </summary>
    public bool NextProperty(ref bool first, out string name, out int nameStart)
    {
        name = string.Empty;
        nameStart = position;
        if (!NextMember(ref first, '}', "a property name"))
        {
            return false;
        }

        nameStart = position;
        if (Current != '"')
        {
            throw Unexpected("a property name in double quotes");
        }

        name = ReadString();
        SkipWhitespace();
        if (position == text.Length || text[position] != ':')
        {
            throw Unexpected("':' after the property name");
        }

        position++;
        return true;
    }

    /// <summary>Moves to the next element of the array being read: true at its value, false after the closing ']'.</summary>
    public bool NextElement(ref bool first) => NextMember(ref first, ']', "a value");

    /// <summary>Reads a string value (escapes decoded).</summary>
    public string ReadString()
    {
        SkipWhitespace();
        if (position == text.Length || text[position] != '"')
        {
            throw Unexpected("a string");
        }

        var start = ++position;
        StringBuilder? decoded = null;
        while (true)
        {
            if (position == text.Length)
            {
                throw new JsonSyntaxException(start - 1, 1, "the string is not closed (a '\"' is missing)");
            }

            var c = text[position];
            if (c == '"')
            {
                var value = decoded is null ? text.Substring(start, position - start) : decoded.ToString();
                position++;
                return value;
            }

            if (c < ' ')
            {
                throw Error("a control character (U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) + ") inside a string must be escaped");
            }

            if (c != '\\')
            {
                decoded?.Append(c);
                position++;
                continue;
            }

            decoded ??= new StringBuilder().Append(text, start, position - start);
            decoded.Append(ReadEscape());
        }
    }

    /// <summary>Reads a number; <paramref name="isInteger"/> is true when it has neither a fraction nor an exponent.</summary>
    public double ReadNumber(out bool isInteger)
    {
        SkipWhitespace();
        var start = position;
        if (Current == '-')
        {
            position++;
        }

        if (Current == '0')
        {
            position++;
            if (IsDigit(Current))
            {
                throw Error("a number cannot have a leading zero");
            }
        }
        else if (!ReadDigits())
        {
            throw new JsonSyntaxException(start, 1, start < text.Length && text[start] == '+' ? "a number cannot start with '+'" : "expected a number");
        }

        isInteger = true;
        if (Current == '.')
        {
            position++;
            isInteger = false;
            if (!ReadDigits())
            {
                throw Error("expected a digit after the decimal point");
            }
        }

        if (Current is 'e' or 'E')
        {
            position++;
            isInteger = false;
            if (Current is '+' or '-')
            {
                position++;
            }

            if (!ReadDigits())
            {
                throw Error("expected a digit in the exponent");
            }
        }

        // .NET Framework hosts (Visual Studio) fail to parse an overflowing literal where .NET reads it as infinity: read it
        // as infinity everywhere, a well-formed number out of double's range.
        return double.TryParse(text.Substring(start, position - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : text[start] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
    }

    /// <summary>Skips the value that starts here, whatever it is (checked as strictly as one that is read).</summary>
    public void SkipValue()
    {
        switch (PeekValue())
        {
            case JsonValueKind.Object:
                StartObject();
                var firstProperty = true;
                while (NextProperty(ref firstProperty, out _, out _))
                {
                    SkipValue();
                }

                break;
            case JsonValueKind.Array:
                StartArray();
                var firstElement = true;
                while (NextElement(ref firstElement))
                {
                    SkipValue();
                }

                break;
            case JsonValueKind.String:
                ReadString();
                break;
            case JsonValueKind.Number:
                ReadNumber(out _);
                break;
            case JsonValueKind.True:
                ReadLiteral("true");
                break;
            case JsonValueKind.False:
                ReadLiteral("false");
                break;
            default:
                ReadLiteral("null");
                break;
        }
    }

    /// <summary>Checks that nothing but whitespace follows the root value.</summary>
    public void End()
    {
        SkipWhitespace();
        if (position < text.Length)
        {
            throw Error("unexpected text after the end of the JSON value");
        }
    }

    /// <summary>The text from <paramref name="start"/> to <paramref name="end"/>, e.g. a number as it was written.</summary>
    public string TextBetween(int start, int end) => text.Substring(start, end - start);

    /// <summary>An error at <paramref name="at"/>, for problems the caller finds in well-formed JSON.</summary>
    public static JsonSyntaxException ErrorAt(int at, string message) => new(at, 1, message);

    private char Current => position < text.Length ? text[position] : '\0';

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    private void Start(char open, string expected)
    {
        SkipWhitespace();
        if (Current != open)
        {
            throw Unexpected(expected);
        }

        if (++depth > MaxDepth)
        {
            throw Error("the JSON is nested more than " + MaxDepth.ToString(CultureInfo.InvariantCulture) + " levels deep");
        }

        position++;
    }

    private bool NextMember(ref bool first, char close, string expected)
    {
        SkipWhitespace();
        if (Current == close)
        {
            position++;
            depth--;
            return false;
        }

        if (!first)
        {
            if (Current != ',')
            {
                throw Unexpected("',' or '" + close + "'");
            }

            var comma = position++;
            SkipWhitespace();
            if (Current == close)
            {
                throw new JsonSyntaxException(comma, 1, "a trailing comma before '" + close + "' is not allowed in JSON");
            }
        }

        if (position == text.Length)
        {
            throw Unexpected(expected);
        }

        first = false;
        return true;
    }

    private string ReadEscape()
    {
        var start = position++;
        var c = Current;
        position++;
        switch (c)
        {
            case '"': return "\"";
            case '\\': return "\\";
            case '/': return "/";
            case 'b': return "\b";
            case 'f': return "\f";
            case 'n': return "\n";
            case 'r': return "\r";
            case 't': return "\t";
            case 'u':
                if (position + 4 <= text.Length
                    && int.TryParse(text.Substring(position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                {
                    position += 4;
                    return ((char)code).ToString();
                }

                throw new JsonSyntaxException(start, 2, "'\\u' must be followed by four hexadecimal digits");
            default:
                throw new JsonSyntaxException(start, 2, "'\\" + (c == '\0' ? string.Empty : c.ToString()) + "' is not a JSON escape");
        }
    }

    private bool ReadDigits()
    {
        var start = position;
        while (IsDigit(Current))
        {
            position++;
        }

        return position > start;
    }

    private void ReadLiteral(string literal)
    {
        if (string.CompareOrdinal(text, position, literal, 0, literal.Length) != 0)
        {
            throw Unexpected("a value");
        }

        position += literal.Length;
    }

    private void SkipWhitespace()
    {
        while (position < text.Length)
        {
            switch (text[position])
            {
                case ' ' or '\t' or '\n' or '\r':
                    position++;
                    continue;
                case '/' when position + 1 < text.Length && text[position + 1] is '/' or '*':
                    throw new JsonSyntaxException(position, 2, "comments are not allowed in JSON");
            }

            return;
        }
    }

    private JsonSyntaxException Error(string message) => new(Math.Min(position, Math.Max(text.Length - 1, 0)), 1, message);

    private JsonSyntaxException Unexpected(string expected)
    {
        if (position >= text.Length)
        {
            return Error("the text ends where " + expected + " was expected");
        }

        var found = text[position] switch
        {
            '\'' => "a single quote (JSON strings use double quotes)",
            < ' ' => "U+" + ((int)text[position]).ToString("X4", CultureInfo.InvariantCulture),
            var c => "'" + c + "'",
        };
        return Error("expected " + expected + ", found " + found);
    }
}
