using System.Globalization;
using System.Text;

namespace ForwardAuth.Configuration.HeaderTemplates;

/// <summary>A template that cannot be used; the message says what and where, never a claim or token value.</summary>
internal sealed class TemplateException(string message) : Exception(message);

internal enum LexKind
{
    Identifier,
    Field,
    Variable,
    Dot,
    String,
    Number,
    LeftParen,
    RightParen,
    Pipe,
    Declare,
    Comma,
}

/// <summary>One token of an action. <see cref="Path"/>: the field names of <c>.a.b</c> or <c>$v.a.b</c>.</summary>
internal sealed record LexToken(LexKind Kind, string Text, IReadOnlyList<string> Path);

internal abstract record Segment;

internal sealed record TextSegment(string Text) : Segment;

/// <summary>One <c>{{…}}</c> (a comment yields none): its tokens and its source text, for messages.</summary>
internal sealed record ActionSegment(IReadOnlyList<LexToken> Tokens, string Source) : Segment;

/// <summary>
/// Splits a template into text and actions the way Go's text/template does: <c>{{</c> opens an action anywhere,
/// <c>{{- </c> and <c> -}}</c> trim the whitespace beside them, <c>{{/* … */}}</c> is a comment.
/// </summary>
internal static class TemplateLexer
{
    private static readonly IReadOnlyList<string> NoPath = [];

    public static List<Segment> Split(string template)
    {
        var segments = new List<Segment>();
        var text = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0)
            {
                text.Append(template, i, template.Length - i);
                break;
            }

            var start = open + 2;
            var leading = template[i..open];
            if (start + 1 < template.Length && template[start] == '-' && IsSpace(template[start + 1]))
            {
                leading = leading.TrimEnd(' ', '\t', '\r', '\n');
                start += 2;
            }

            text.Append(leading);
            var close = FindClose(template, start, open);
            var trimRight = close - 2 >= start && template[close - 1] == '-' && IsSpace(template[close - 2]);
            var content = template[start..(trimRight ? close - 2 : close)];
            var source = template[open..(close + 2)];
            i = close + 2;
            if (trimRight)
            {
                while (i < template.Length && IsSpace(template[i]))
                {
                    i++;
                }
            }

            if (content.TrimStart().StartsWith("/*", StringComparison.Ordinal))
            {
                continue;
            }

            if (text.Length > 0)
            {
                segments.Add(new TextSegment(text.ToString()));
                text.Clear();
            }

            segments.Add(new ActionSegment(Tokenize(content, source), source));
        }

        if (text.Length > 0)
        {
            segments.Add(new TextSegment(text.ToString()));
        }

        return segments;
    }

    // The "}}" that ends the action opened at `open`: quoted strings may contain "}}", a comment may contain anything.
    private static int FindClose(string s, int start, int open)
    {
        var j = start;
        while (j < s.Length && IsSpace(s[j]))
        {
            j++;
        }

        if (j + 1 < s.Length && s[j] == '/' && s[j + 1] == '*')
        {
            var end = s.IndexOf("*/", j + 2, StringComparison.Ordinal);
            j = end < 0 ? s.Length : end + 2;
        }

        for (; j < s.Length; j++)
        {
            var c = s[j];
            if (c is '"' or '`')
            {
                j = TemplateQuotes.EndOf(s, j) ?? throw new TemplateException($"unterminated quoted string in '{Excerpt(s, open)}'");
            }
            else if (c == '}' && j + 1 < s.Length && s[j + 1] == '}')
            {
                return j;
            }
        }

        throw new TemplateException($"unclosed action '{Excerpt(s, open)}' (no closing }}}})");
    }

    private static List<LexToken> Tokenize(string content, string source)
    {
        var tokens = new List<LexToken>();
        var j = 0;
        while (j < content.Length)
        {
            var c = content[j];
            if (IsSpace(c))
            {
                j++;
                continue;
            }

            switch (c)
            {
                case '(':
                    tokens.Add(new LexToken(LexKind.LeftParen, "(", NoPath));
                    j++;
                    if (j < content.Length && content[j] == ')')
                    {
                        throw new TemplateException($"empty parentheses in '{source}'");
                    }

                    continue;
                case ')':
                    tokens.Add(new LexToken(LexKind.RightParen, ")", NoPath));
                    j++;
                    if (j < content.Length && content[j] == '.')
                    {
                        throw new TemplateException($"a field of a parenthesised value is not supported in '{source}'");
                    }

                    continue;
                case '|':
                    tokens.Add(new LexToken(LexKind.Pipe, "|", NoPath));
                    j++;
                    continue;
                case ',':
                    tokens.Add(new LexToken(LexKind.Comma, ",", NoPath));
                    j++;
                    continue;
                case ':' when j + 1 < content.Length && content[j + 1] == '=':
                    tokens.Add(new LexToken(LexKind.Declare, ":=", NoPath));
                    j += 2;
                    continue;
                case '=':
                    throw new TemplateException($"assignment is not supported in '{source}'");
                case '"' or '`':
                    var end = TemplateQuotes.EndOf(content, j) ?? throw new TemplateException($"unterminated quoted string in '{source}'");
                    tokens.Add(new LexToken(LexKind.String, c == '`' ? content[(j + 1)..end] : TemplateQuotes.Unquote(content[(j + 1)..end], source), NoPath));
                    j = end + 1;
                    continue;
                case '.':
                    var (fields, afterFields) = Fields(content, j, source);
                    tokens.Add(fields.Count == 0 ? new LexToken(LexKind.Dot, ".", NoPath) : new LexToken(LexKind.Field, content[j..afterFields], fields));
                    j = afterFields;
                    continue;
                case '$':
                    var nameEnd = EndOfIdentifier(content, j + 1);
                    var (path, afterPath) = Fields(content, nameEnd, source);
                    tokens.Add(new LexToken(LexKind.Variable, content[j..nameEnd], path));
                    j = afterPath;
                    continue;
            }

            if (char.IsAsciiDigit(c) || (c is '-' or '+' && j + 1 < content.Length && char.IsAsciiDigit(content[j + 1])))
            {
                var k = j + 1;
                while (k < content.Length && (char.IsAsciiLetterOrDigit(content[k]) || content[k] is '.' or '_'))
                {
                    k++;
                }

                var number = content[j..k];
                if (!long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                {
                    throw new TemplateException($"'{number}' is not a whole number (only whole numbers are supported) in '{source}'");
                }

                tokens.Add(new LexToken(LexKind.Number, number, NoPath));
                j = k;
                continue;
            }

            if (char.IsLetter(c) || c == '_')
            {
                var k = EndOfIdentifier(content, j);
                if (k < content.Length && content[k] == '.')
                {
                    throw new TemplateException($"'{content[j..k]}.' is not supported in '{source}'");
                }

                tokens.Add(new LexToken(LexKind.Identifier, content[j..k], NoPath));
                j = k;
                continue;
            }

            throw new TemplateException($"unexpected '{c}' in '{source}'");
        }

        return tokens;
    }

    // ".a.b" from position j: the names, and where they end. A lone "." yields no names.
    private static (List<string> Names, int End) Fields(string content, int j, string source)
    {
        var names = new List<string>();
        while (j < content.Length && content[j] == '.')
        {
            var end = EndOfIdentifier(content, j + 1);
            if (end == j + 1)
            {
                if (names.Count > 0 || (end < content.Length && !IsSpace(content[end]) && content[end] is not (')' or '|')))
                {
                    throw new TemplateException($"a field name is missing after '.' in '{source}' (use get for names with other characters)");
                }

                return (names, j + 1);
            }

            names.Add(content[(j + 1)..end]);
            j = end;
        }

        return (names, j);
    }

    private static int EndOfIdentifier(string s, int j)
    {
        while (j < s.Length && (char.IsLetterOrDigit(s[j]) || s[j] == '_'))
        {
            j++;
        }

        return j;
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static string Excerpt(string s, int open) => s.Length - open > 60 ? string.Concat(s.AsSpan(open, 60), "…") : s[open..];
}
