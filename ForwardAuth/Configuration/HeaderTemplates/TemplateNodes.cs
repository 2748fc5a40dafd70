namespace ForwardAuth.Configuration.HeaderTemplates;

/// <summary>
/// A compiled <c>headers</c> entry: the header's name and its template, parsed once at start. Every field reference is
/// already resolved against what it reads (a claim, a token, the current element), so evaluation never looks a name up.
/// </summary>
internal sealed record HeaderTemplate(string Name, IReadOnlyList<TemplateNode> Body);

/// <summary>
/// Every compiled template and the top-level claim names they read: the identity keeps exactly those claims (as
/// <c>claimHeaders</c> keep theirs), nothing else.
/// </summary>
internal sealed record HeaderTemplateSet(IReadOnlyList<HeaderTemplate> Templates, IReadOnlySet<string> ClaimNames)
{
    public static readonly HeaderTemplateSet None = new([], new HashSet<string>(StringComparer.Ordinal));
}

internal abstract record TemplateNode;

/// <summary>Literal text, copied as it is.</summary>
internal sealed record TextNode(string Text) : TemplateNode;

/// <summary><c>{{pipeline}}</c>: the value, printed.</summary>
internal sealed record OutputNode(TemplateExpression Value) : TemplateNode;

/// <summary><c>{{if}}…{{else}}…{{end}}</c> (<c>else if</c> is an <see cref="IfNode"/> in <paramref name="Else"/>).</summary>
internal sealed record IfNode(TemplateExpression Condition, IReadOnlyList<TemplateNode> Then, IReadOnlyList<TemplateNode> Else) : TemplateNode;

/// <summary><c>{{with [$v :=] x}}…{{else}}…{{end}}</c>: dot (and <paramref name="Variable"/>) become x when x is non-empty.</summary>
internal sealed record WithNode(string? Variable, TemplateExpression Value, IReadOnlyList<TemplateNode> Then, IReadOnlyList<TemplateNode> Else) : TemplateNode;

/// <summary><c>{{range [[$i,] $e :=] x}}…{{else}}…{{end}}</c>: the body once per element, dot the element.</summary>
internal sealed record RangeNode(
    string? IndexVariable, string? ElementVariable, TemplateExpression Source, IReadOnlyList<TemplateNode> Body, IReadOnlyList<TemplateNode> Else) : TemplateNode;

internal abstract record TemplateExpression;

/// <summary>A claim, from the claims map: <c>.Claims.a.b</c> is <c>["a", "b"]</c>, <c>get .Claims "k"</c> is <c>["k"]</c>.</summary>
internal sealed record ClaimExpression(IReadOnlyList<string> Path) : TemplateExpression;

/// <summary>The claims map itself: only ever the first argument of <c>get</c> (the whole map is never printed).</summary>
internal sealed record ClaimsMapExpression : TemplateExpression;

/// <summary><c>.AccessToken</c>, or <c>.IdToken</c>/<c>.IDToken</c>.</summary>
internal sealed record TokenExpression(TemplateToken Token) : TemplateExpression;

/// <summary>The current element (dot, inside <c>range</c> or <c>with</c>) and a path into it.</summary>
internal sealed record DotExpression(IReadOnlyList<string> Path) : TemplateExpression;

/// <summary>A variable of <c>range</c> or <c>with</c> and a path into it.</summary>
internal sealed record VariableExpression(string Name, IReadOnlyList<string> Path) : TemplateExpression;

/// <summary>A quoted string, a whole number, true or false.</summary>
internal sealed record LiteralExpression(object Value) : TemplateExpression;

/// <summary><c>default</c> or <c>get</c> with its arguments (a piped value is the last argument).</summary>
internal sealed record CallExpression(TemplateFunction Function, IReadOnlyList<TemplateExpression> Arguments) : TemplateExpression;

internal enum TemplateToken
{
    AccessToken,
    IdToken,
}

internal enum TemplateFunction
{
    Default,
    Get,

    /// <summary>Go's <c>eq a b [c …]</c>: true when a equals any of the others (compared as printed).</summary>
    Eq,
}
