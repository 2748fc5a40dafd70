using System.Text;
using System.Text.Json;
using ForwardAuth.Configuration.HeaderTemplates;

namespace ForwardAuth.Endpoints;

/// <summary>
/// Evaluates a header template compiled at start (Configuration/HeaderTemplates) against one answer: the claims the
/// identity kept for the templates, the access token and the ID token. Never fails: what is missing prints nothing.
/// </summary>
internal sealed class TemplateRenderer
{
    private readonly IReadOnlyDictionary<string, JsonElement> _claims;
    private readonly string? _accessToken;
    private readonly string? _idToken;
    private readonly List<(string Name, object? Value)> _variables = [];
    private readonly StringBuilder _output = new();

    private TemplateRenderer(IReadOnlyDictionary<string, JsonElement>? claims, string? accessToken, string? idToken)
    {
        _claims = claims ?? new Dictionary<string, JsonElement>();
        _accessToken = accessToken;
        _idToken = idToken;
    }

    public static string Render(HeaderTemplate template, IReadOnlyDictionary<string, JsonElement>? claims, string? accessToken, string? idToken)
    {
        var renderer = new TemplateRenderer(claims, accessToken, idToken);
        renderer.Run(template.Body, dot: null);
        return renderer._output.ToString();
    }

    private void Run(IReadOnlyList<TemplateNode> nodes, object? dot)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    _output.Append(text.Text);
                    break;
                case OutputNode output:
                    _output.Append(TemplateValues.Print(Evaluate(output.Value, dot)));
                    break;
                case IfNode branch:
                    Run(TemplateValues.IsTrue(Evaluate(branch.Condition, dot)) ? branch.Then : branch.Else, dot);
                    break;
                case WithNode with:
                    RunWith(with, dot);
                    break;
                case RangeNode range:
                    RunRange(range, dot);
                    break;
            }
        }
    }

    private void RunWith(WithNode with, object? dot)
    {
        var value = Evaluate(with.Value, dot);
        if (!TemplateValues.IsTrue(value))
        {
            Run(with.Else, dot);
            return;
        }

        Scoped(() => Run(with.Then, value), (with.Variable, value));
    }

    private void RunRange(RangeNode range, object? dot)
    {
        var any = false;
        foreach (var (key, element) in TemplateValues.Elements(Evaluate(range.Source, dot)))
        {
            any = true;
            Scoped(() => Run(range.Body, element), (range.IndexVariable, key), (range.ElementVariable, element));
        }

        if (!any)
        {
            Run(range.Else, dot);
        }
    }

    private void Scoped(Action run, params (string? Name, object? Value)[] variables)
    {
        var count = _variables.Count;
        foreach (var (name, value) in variables)
        {
            if (name is not null)
            {
                _variables.Add((name, value));
            }
        }

        run();
        _variables.RemoveRange(count, _variables.Count - count);
    }

    private object? Evaluate(TemplateExpression expression, object? dot) => expression switch
    {
        ClaimExpression claim => TemplateValues.Walk(_claims, claim.Path),
        ClaimsMapExpression => _claims,
        TokenExpression { Token: TemplateToken.AccessToken } => _accessToken,
        TokenExpression => _idToken,
        DotExpression relative => TemplateValues.Walk(dot, relative.Path),
        VariableExpression variable => TemplateValues.Walk(_variables.LastOrDefault(v => v.Name == variable.Name).Value, variable.Path),
        LiteralExpression literal => literal.Value,
        CallExpression call => Call(call, dot),
        _ => null,
    };

    private object? Call(CallExpression call, object? dot)
    {
        var arguments = call.Arguments.Select(a => Evaluate(a, dot)).ToList();
        return call.Function switch
        {
            TemplateFunction.Default => TemplateValues.Default(arguments[0], arguments[1]),
            TemplateFunction.Eq => arguments.Skip(1).Any(other => string.Equals(TemplateValues.Print(arguments[0]), TemplateValues.Print(other), StringComparison.Ordinal)),
            _ => arguments[1] is string key ? TemplateValues.Field(arguments[0], key) : null,
        };
    }
}
