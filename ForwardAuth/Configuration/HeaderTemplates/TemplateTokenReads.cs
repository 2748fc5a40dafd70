namespace ForwardAuth.Configuration.HeaderTemplates;

/// <summary>
/// Which session tokens the compiled templates print (<c>.AccessToken</c>, <c>.IdToken</c>): a session keeps a token
/// only when something forwards or uses it (docs/sessions.md#what-a-session-keeps), and a template is one such use.
/// </summary>
internal static class TemplateTokenReads
{
    public static bool Reads(HeaderTemplateSet set, TemplateToken token) =>
        set.Templates.Any(template => template.Body.Any(node => Reads(node, token)));

    private static bool Reads(TemplateNode node, TemplateToken token) => node switch
    {
        OutputNode output => Reads(output.Value, token),
        IfNode branch => Reads(branch.Condition, token) || branch.Then.Any(n => Reads(n, token)) || branch.Else.Any(n => Reads(n, token)),
        WithNode with => Reads(with.Value, token) || with.Then.Any(n => Reads(n, token)) || with.Else.Any(n => Reads(n, token)),
        RangeNode range => Reads(range.Source, token) || range.Body.Any(n => Reads(n, token)) || range.Else.Any(n => Reads(n, token)),
        _ => false,
    };

    private static bool Reads(TemplateExpression expression, TemplateToken token) => expression switch
    {
        TokenExpression read => read.Token == token,
        CallExpression call => call.Arguments.Any(a => Reads(a, token)),
        _ => false,
    };
}
