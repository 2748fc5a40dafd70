namespace ForwardAuth.Configuration.HeaderTemplates;

/// <summary>
/// Parses the subset of Go's text/template the traefikoidc plugin documents for <c>headers</c>: text, output of
/// <c>.Claims.&lt;path&gt;</c>, <c>.AccessToken</c>, <c>.IdToken</c>/<c>.IDToken</c>, <c>if</c>/<c>else if</c>/<c>else</c>,
/// <c>with</c>, <c>range</c> (with <c>$i, $e :=</c>), the functions <c>default</c> and <c>get</c>, pipelines
/// into them and parentheses. Everything is checked here, once: what a field reads is resolved, and anything that would
/// print the whole context or the whole claims map, an unknown field, another function or the refresh token is a
/// <see cref="TemplateException"/>. The structure is parsed here; pipelines in <c>TemplateExpressions.cs</c>.
/// </summary>
internal sealed partial class TemplateParser
{
    private const int MaxDepth = 16;

    private readonly List<Segment> _segments;
    private readonly ISet<string> _claimNames;
    private readonly List<(string Name, ValueKind Kind)> _variables = [("$", ValueKind.Root)];
    private ValueKind _dot = ValueKind.Root;
    private int _next;
    private int _depth;

    private TemplateParser(List<Segment> segments, ISet<string> claimNames)
    {
        _segments = segments;
        _claimNames = claimNames;
    }

    /// <summary>What a value is, as far as the checks need to know.</summary>
    private enum ValueKind
    {
        /// <summary>The whole context (tokens and claims): never printed, compared or passed on.</summary>
        Root,

        /// <summary>The whole claims map: only read through a field, <c>get</c> or <c>with</c>.</summary>
        ClaimsMap,

        /// <summary>A claim, part of one, a token, a literal or a function's result.</summary>
        Value,
    }

    /// <summary>Parses <paramref name="template"/>; adds the top-level claims it reads to <paramref name="claimNames"/>.</summary>
    public static IReadOnlyList<TemplateNode> Parse(string template, ISet<string> claimNames)
    {
        var parser = new TemplateParser(TemplateLexer.Split(template), claimNames);
        var (body, terminator) = parser.ParseList();
        if (terminator is not null)
        {
            throw new TemplateException($"'{terminator.Source}' without an if, range or with to close");
        }

        return body;
    }

    // Nodes up to an {{else…}} or {{end}} (returned, not consumed further) or the end of the template (null).
    private (List<TemplateNode> Nodes, ActionSegment? Terminator) ParseList()
    {
        var nodes = new List<TemplateNode>();
        while (_next < _segments.Count)
        {
            var segment = _segments[_next++];
            if (segment is TextSegment text)
            {
                nodes.Add(new TextNode(text.Text));
                continue;
            }

            var action = (ActionSegment)segment;
            if (action.Tokens.Count == 0)
            {
                throw new TemplateException($"empty action '{action.Source}'");
            }

            if (action.Tokens[0] is { Kind: LexKind.Identifier, Text: "end" or "else" })
            {
                return (nodes, action);
            }

            nodes.Add(ParseAction(action));
        }

        return (nodes, null);
    }

    private TemplateNode ParseAction(ActionSegment action)
    {
        var first = action.Tokens[0];
        if (first.Kind == LexKind.Identifier)
        {
            switch (first.Text)
            {
                case "if":
                    return ParseIf(action, 1);
                case "with":
                    return ParseWith(action, 1);
                case "range":
                    return ParseRange(action);
                case "define" or "template" or "block" or "break" or "continue" or "nil":
                    throw new TemplateException($"'{first.Text}' is not supported in '{action.Source}'");
            }
        }

        if (action.Tokens.Any(t => t.Kind == LexKind.Declare))
        {
            throw new TemplateException($"variables can be declared only in range and with, not in '{action.Source}'");
        }

        var (value, kind) = ParseWhole(action, 0);
        RequireUsable(kind, action.Source, "print");
        return new OutputNode(value);
    }

    private IfNode ParseIf(ActionSegment action, int from)
    {
        if (action.Tokens.Skip(from).Any(t => t.Kind == LexKind.Declare))
        {
            throw new TemplateException($"variables can be declared only in range and with, not in '{action.Source}'");
        }

        var (condition, kind) = ParseWhole(action, from);
        RequireUsable(kind, action.Source, "test");
        var (then, terminator) = Nested(ParseList);
        return new IfNode(condition, then, ParseElse(terminator, action));
    }

    private WithNode ParseWith(ActionSegment action, int from)
    {
        var variable = Declared(action, ref from, allowIndex: false).Element;
        var (value, kind) = ParseWhole(action, from);
        if (kind == ValueKind.Root)
        {
            RequireUsable(kind, action.Source, "bind");
        }

        var (then, terminator) = Nested(() => InScope(kind, variable is null ? [] : [(variable, kind)], ParseList));
        return new WithNode(variable, value, then, ParseElse(terminator, action));
    }

    private RangeNode ParseRange(ActionSegment action)
    {
        var from = 1;
        var (index, element) = Declared(action, ref from, allowIndex: true);
        var (source, kind) = ParseWhole(action, from);
        if (kind != ValueKind.Value || source is LiteralExpression or TokenExpression)
        {
            throw new TemplateException(
                $"range needs one claim (a list), e.g. '{{{{range .Claims.groups}}}}', not '{action.Source}' (the whole claims map and the context cannot be iterated)");
        }

        var variables = new List<(string, ValueKind)>();
        if (index is not null)
        {
            variables.Add((index, ValueKind.Value));
        }

        if (element is not null)
        {
            variables.Add((element, ValueKind.Value));
        }

        var (body, terminator) = Nested(() => InScope(ValueKind.Value, variables, ParseList));
        var otherwise = ParseElse(terminator, action, chain: false);
        return new RangeNode(index, element, source, body, otherwise);
    }

    // After a body: {{end}}, or {{else}} … {{end}}, or (if/with) {{else if …}} / {{else with …}} sharing the one {{end}}.
    private IReadOnlyList<TemplateNode> ParseElse(ActionSegment? terminator, ActionSegment opener, bool chain = true)
    {
        if (terminator is null)
        {
            throw new TemplateException($"'{opener.Source}' has no {{{{end}}}}");
        }

        var tokens = terminator.Tokens;
        if (tokens[0].Text == "end")
        {
            return tokens.Count == 1 ? [] : throw new TemplateException($"unexpected words in '{terminator.Source}'");
        }

        if (tokens.Count == 1)
        {
            var (otherwise, end) = Nested(ParseList);
            if (end is null || end.Tokens[0].Text != "end" || end.Tokens.Count != 1)
            {
                throw new TemplateException($"'{opener.Source}' … {{{{else}}}} has no {{{{end}}}}");
            }

            return otherwise;
        }

        return (chain, tokens[1]) switch
        {
            (true, { Kind: LexKind.Identifier, Text: "if" }) => [Nested(() => ParseIf(terminator, 2))],
            (true, { Kind: LexKind.Identifier, Text: "with" }) => [Nested(() => ParseWith(terminator, 2))],
            _ => throw new TemplateException($"'{terminator.Source}' is not supported here"),
        };
    }

    // "$e :=" or "$i, $e :=" at the start of a range/with; nothing when there is no declaration.
    private static (string? Index, string? Element) Declared(ActionSegment action, ref int from, bool allowIndex)
    {
        var t = action.Tokens;
        var declare = -1;
        for (var i = from; i < t.Count; i++)
        {
            if (t[i].Kind == LexKind.Declare)
            {
                declare = i;
                break;
            }
        }

        if (declare < 0)
        {
            return (null, null);
        }

        var names = t.Skip(from).Take(declare - from).ToList();
        bool IsName(LexToken token) => token is { Kind: LexKind.Variable, Path.Count: 0 } && token.Text.Length > 1;
        from = declare + 1;
        return names switch
        {
            [var e] when IsName(e) => (null, e.Text),
            [var i, { Kind: LexKind.Comma }, var e] when allowIndex && IsName(i) && IsName(e) => (i.Text, e.Text),
            _ => throw new TemplateException($"the variable declaration in '{action.Source}' is not supported"),
        };
    }

    private T InScope<T>(ValueKind dot, IReadOnlyList<(string Name, ValueKind Kind)> variables, Func<T> parse)
    {
        var outerDot = _dot;
        var outerCount = _variables.Count;
        _dot = dot;
        _variables.AddRange(variables);
        try
        {
            return parse();
        }
        finally
        {
            _dot = outerDot;
            _variables.RemoveRange(outerCount, _variables.Count - outerCount);
        }
    }

    private T Nested<T>(Func<T> parse)
    {
        if (++_depth > MaxDepth)
        {
            throw new TemplateException($"nested more than {MaxDepth} deep");
        }

        try
        {
            return parse();
        }
        finally
        {
            _depth--;
        }
    }
}
