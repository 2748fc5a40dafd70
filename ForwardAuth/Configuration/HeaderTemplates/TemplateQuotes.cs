using System.Globalization;
using System.Text;

namespace ForwardAuth.Configuration.HeaderTemplates;

/// <summary>Go's quoted strings: <c>"…"</c> with the common escapes, and raw <c>`…`</c>.</summary>
internal static class TemplateQuotes
{
    /// <summary>The index of the quote that closes the one at <paramref name="j"/>, or null.</summary>
    public static int? EndOf(string s, int j)
    {
        var quote = s[j];
        for (var k = j + 1; k < s.Length; k++)
        {
            if (quote == '"' && s[k] == '\\')
            {
                k++;
            }
            else if (s[k] == quote)
            {
                return k;
            }
        }

        return null;
    }

    public static string Unquote(string body, string source)
    {
        var sb = new StringBuilder(body.Length);
        for (var k = 0; k < body.Length; k++)
        {
            if (body[k] != '\\')
            {
                sb.Append(body[k]);
                continue;
            }

            k++;
            switch (k < body.Length ? body[k] : '\0')
            {
                case '\\': sb.Append('\\'); break;
                case '"': sb.Append('"'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'u' when k + 4 < body.Length && int.TryParse(body.AsSpan(k + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code):
                    sb.Append((char)code);
                    k += 4;
                    break;
                default:
                    throw new TemplateException($"unsupported escape in a quoted string in '{source}'");
            }
        }

        return sb.ToString();
    }
}
