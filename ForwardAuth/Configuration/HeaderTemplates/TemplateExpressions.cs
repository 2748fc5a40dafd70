namespace ForwardAuth.Configuration.HeaderTemplates;

/// <summary>Pipelines, function calls and operands of <see cref="TemplateParser"/>, resolved and checked.</summary>
internal sealed partial class TemplateParser
{
    private const string Supported = "supported: default, get, eq";

    internal const string RefreshTokenRefused =
        ".RefreshToken is refused: a refresh token is a long-lived credential; forwarded to every backend, any backend (or " +
        "anything that logs request headers) could mint access tokens after the user logged out, and a backend that used " +
        "it would rotate it away from the session (docs/configuration.md, Templated headers)";

    private (TemplateExpression Value, ValueKind Kind) ParseWhole(ActionSegment action, int from)
    {
        var cursor = new Cursor(action, from);
        if (cursor.AtEnd)
        {
            throw new TemplateException($"a value is missing in '{action.Source}'");
        }

        var result = ParsePipeline(cursor);
        if (!cursor.AtEnd)
        {
            throw new TemplateException($"unexpected '{cursor.Peek!.Text}' in '{action.Source}'");
        }

        return result;
    }

    private (TemplateExpression Value, ValueKind Kind) ParsePipeline(Cursor cursor)
    {
        var result = ParseCommand(cursor, piped: null);
        while (cursor.Peek is { Kind: LexKind.Pipe })
        {
            cursor.Next();
            result = ParseCommand(cursor, piped: result);
        }

        return result;
    }

    // One command: a function with its arguments (a piped value last), or a single operand.
    private (TemplateExpression Value, ValueKind Kind) ParseCommand(Cursor cursor, (TemplateExpression Value, ValueKind Kind)? piped)
    {
        var head = cursor.Peek ?? throw new TemplateException($"a value is missing in '{cursor.Source}'");
        if (head.Kind == LexKind.Identifier && head.Text is not ("true" or "false"))
        {
            cursor.Next();
            var function = Function(head.Text, cursor.Source);
            var arguments = new List<(TemplateExpression Value, ValueKind Kind)>();
            while (cursor.Peek is { Kind: not (LexKind.Pipe or LexKind.RightParen) })
            {
                arguments.Add(ParseOperand(cursor));
            }

            if (piped is { } p)
            {
                arguments.Add(p);
            }

            return (Call(function, arguments, cursor.Source), ValueKind.Value);
        }

        if (piped is not null)
        {
            throw new TemplateException($"a pipeline must end in a function ({Supported}) in '{cursor.Source}'");
        }

        var operand = ParseOperand(cursor);
        if (cursor.Peek is { Kind: not (LexKind.Pipe or LexKind.RightParen) } extra)
        {
            throw new TemplateException($"unexpected '{extra.Text}' in '{cursor.Source}' (only {Supported} take arguments)");
        }

        return operand;
    }

    private (TemplateExpression Value, ValueKind Kind) ParseOperand(Cursor cursor)
    {
        var token = cursor.Next();
        switch (token.Kind)
        {
            case LexKind.Field:
                return Resolve(_dot, token.Path, path => new DotExpression(path), cursor.Source);
            case LexKind.Dot:
                return Resolve(_dot, [], path => new DotExpression(path), cursor.Source);
            case LexKind.Variable:
                var variable = _variables.LastOrDefault(v => v.Name == token.Text);
                if (variable.Name is null)
                {
                    throw new TemplateException($"undefined variable {token.Text} in '{cursor.Source}'");
                }

                return Resolve(variable.Kind, token.Path, path => new VariableExpression(token.Text, path), cursor.Source);
            case LexKind.String:
                return (new LiteralExpression(token.Text), ValueKind.Value);
            case LexKind.Number:
                return (new LiteralExpression(long.Parse(token.Text, System.Globalization.CultureInfo.InvariantCulture)), ValueKind.Value);
            case LexKind.Identifier when token.Text is "true" or "false":
                return (new LiteralExpression(token.Text == "true"), ValueKind.Value);
            case LexKind.LeftParen:
                var inner = ParsePipeline(cursor);
                if (cursor.AtEnd || cursor.Next().Kind != LexKind.RightParen)
                {
                    throw new TemplateException($"unclosed '(' in '{cursor.Source}'");
                }

                return inner;
            case LexKind.Identifier:
                throw new TemplateException($"a function used as an argument needs parentheses: '({token.Text} …)' in '{cursor.Source}'");
            default:
                throw new TemplateException($"unexpected '{token.Text}' in '{cursor.Source}'");
        }
    }

    // A field path read from a start whose kind is known: the context's fields, a claim, or a part of a value.
    private (TemplateExpression Value, ValueKind Kind) Resolve(
        ValueKind start, IReadOnlyList<string> path, Func<IReadOnlyList<string>, TemplateExpression> relative, string source)
    {
        switch (start)
        {
            case ValueKind.Value:
                return (relative(path), ValueKind.Value);
            case ValueKind.ClaimsMap when path.Count == 0:
                return (relative(path), ValueKind.ClaimsMap);
            case ValueKind.ClaimsMap:
                _claimNames.Add(path[0]);
                return (relative(path), ValueKind.Value);
        }

        if (path.Count == 0)
        {
            return (new ClaimsMapExpression(), ValueKind.Root);
        }

        switch (path[0])
        {
            case "Claims" when path.Count == 1:
                return (new ClaimsMapExpression(), ValueKind.ClaimsMap);
            case "Claims":
                _claimNames.Add(path[1]);
                return (new ClaimExpression(path.Skip(1).ToList()), ValueKind.Value);
            case "AccessToken" or "IdToken" or "IDToken" when path.Count > 1:
                throw new TemplateException($".{path[0]} is a string without fields, in '{source}'");
            case "AccessToken":
                return (new TokenExpression(TemplateToken.AccessToken), ValueKind.Value);
            case "IdToken" or "IDToken":
                return (new TokenExpression(TemplateToken.IdToken), ValueKind.Value);
            case "RefreshToken":
                throw new TemplateException(RefreshTokenRefused);
            case var other when Known.FirstOrDefault(k => string.Equals(k, other, StringComparison.OrdinalIgnoreCase)) is { } known:
                throw new TemplateException($"unknown field .{other} in '{source}': names are case-sensitive, use .{known}");
            case var other:
                throw new TemplateException($"unknown field .{other} in '{source}' (known: .Claims.<claim>, .AccessToken, .IdToken, .IDToken)");
        }
    }

    private static readonly string[] Known = ["Claims", "AccessToken", "IdToken", "RefreshToken"];

    private static TemplateFunction Function(string name, string source) => name switch
    {
        "default" => TemplateFunction.Default,
        "get" => TemplateFunction.Get,
        "eq" => TemplateFunction.Eq,
        "if" or "else" or "end" or "range" or "with" => throw new TemplateException($"'{name}' must start its own action, in '{source}'"),
        _ => throw new TemplateException($"function '{name}' is not supported ({Supported}) in '{source}'"),
    };

    private CallExpression Call(TemplateFunction function, List<(TemplateExpression Value, ValueKind Kind)> arguments, string source)
    {
        var name = function.ToString().ToLowerInvariant();
        if (function == TemplateFunction.Eq ? arguments.Count < 2 : arguments.Count != 2)
        {
            throw new TemplateException($"{name} takes {(function == TemplateFunction.Eq ? "2 or more" : "2")} arguments, in '{source}'");
        }

        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i].Kind == ValueKind.ClaimsMap && function == TemplateFunction.Get && i == 0)
            {
                // get .Claims "name": the one way to a claim whose name is not an identifier (a URL, a colon).
                _claimNames.Add(arguments[1].Value is LiteralExpression { Value: string claim }
                    ? claim
                    : throw new TemplateException($"get .Claims needs the claim's name in quotes, in '{source}'"));
                continue;
            }

            RequireUsable(arguments[i].Kind, source, "pass to " + name);
        }

        return new CallExpression(function, arguments.Select(a => a.Value).ToList());
    }

    private static void RequireUsable(ValueKind kind, string source, string verb)
    {
        switch (kind)
        {
            case ValueKind.Root:
                throw new TemplateException(
                    $"'{source}' would {verb} the whole context (every token and claim): name one value, e.g. .Claims.email");
            case ValueKind.ClaimsMap:
                throw new TemplateException(
                    $"'{source}' would {verb} the whole claims map: name one claim, e.g. .Claims.email or get .Claims \"name\"");
        }
    }

    /// <summary>Reads the tokens of one action from a position.</summary>
    private sealed class Cursor(ActionSegment action, int position)
    {
        public string Source => action.Source;

        public bool AtEnd => position >= action.Tokens.Count;

        public LexToken? Peek => AtEnd ? null : action.Tokens[position];

        public LexToken Next() => !AtEnd ? action.Tokens[position++] : throw new TemplateException($"a value is missing in '{action.Source}'");
    }
}
