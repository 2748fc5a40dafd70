using System.Text;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;

namespace ForwardAuth.Endpoints;

/// <summary>
/// The headers of a 200. Every configured header is always present — empty when there is no value — so a proxy that
/// copies it overwrites whatever the client sent under that name. Values never carry CR, LF or control characters.
/// </summary>
internal static class IdentityHeaders
{
    public const string ForwardedUser = "X-Forwarded-User";
    public const string User = "X-Auth-Request-User";
    public const string Email = "X-Auth-Request-Email";
    public const string Groups = "X-Auth-Request-Groups";
    public const string PreferredUsername = "X-Auth-Request-Preferred-Username";

    private static readonly string[] Fixed = [ForwardedUser, User, Email, Groups, PreferredUsername];

    /// <summary>The header names this deployment answers with (for the smuggling check and documentation).</summary>
    public static IEnumerable<string> Names(ForwardAuthOptions options)
    {
        foreach (var name in Fixed)
        {
            yield return name;
        }

        foreach (var claim in options.ClaimHeaders)
        {
            yield return claim.HeaderName;
        }

        if (options.PassAuthorizationHeader)
        {
            yield return "Authorization";
        }

        foreach (var template in options.HeaderTemplates.Templates)
        {
            yield return template.Name;
        }
    }

    public static void Write(IHeaderDictionary headers, UserIdentity? identity, string? accessToken, ForwardAuthOptions options, string? idToken = null)
    {
        // minimalHeaders (the plugin's answer to 431s): the headers that repeat the user are present but empty, so a
        // proxy that copies them still overwrites what a client sent.
        var full = options.MinimalHeaders ? null : identity;
        headers[ForwardedUser] = Clean(identity?.Identifier);
        headers[User] = Clean(full?.Identifier);
        headers[Email] = Clean(full?.Email);
        headers[Groups] = Clean(identity?.Groups is { } g ? JoinList(g) : null);
        headers[PreferredUsername] = Clean(full?.PreferredUsername);
        foreach (var claim in options.ClaimHeaders)
        {
            headers[claim.HeaderName] = Clean(identity?.ClaimValues.GetValueOrDefault(claim.ClaimPath));
        }

        if (options.PassAuthorizationHeader)
        {
            headers.Authorization = string.IsNullOrEmpty(accessToken) ? "" : "Bearer " + Clean(accessToken);
        }

        // The plugin's templates: empty without an identity (an excluded path, a preflight), like every other header.
        foreach (var template in options.HeaderTemplates.Templates)
        {
            headers[template.Name] = identity is null ? "" : Clean(TemplateRenderer.Render(template, identity.TemplateClaims, accessToken, idToken));
        }
    }

    /// <summary>
    /// True when the client sent a look-alike of an identity header spelt with <c>_</c> (<c>X_Forwarded_User</c>): some
    /// backends (CGI, PHP, nginx with underscores_in_headers) read it as the real one, and the proxy would not overwrite it.
    /// </summary>
    public static string? FindSmuggled(IHeaderDictionary headers, ForwardAuthOptions options)
    {
        foreach (var name in headers.Keys)
        {
            if (!name.Contains('_', StringComparison.Ordinal))
            {
                continue;
            }

            var normalized = name.Replace('_', '-');
            if (normalized.StartsWith("X-Auth-Request-", StringComparison.OrdinalIgnoreCase)
                || normalized.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase)
                || Names(options).Any(n => string.Equals(n, normalized, StringComparison.OrdinalIgnoreCase)))
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>
    /// A comma-separated list header. A name that itself contains a comma cannot be told apart from two names (a group
    /// called "x,admins" would read as "admins" to a backend that splits on commas), so it is left out.
    /// </summary>
    internal static string JoinList(IEnumerable<string> values) =>
        string.Join(',', values.Where(v => !v.Contains(',', StringComparison.Ordinal)));

    internal static string Clean(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (!value.Any(char.IsControl))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (!char.IsControl(c))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
