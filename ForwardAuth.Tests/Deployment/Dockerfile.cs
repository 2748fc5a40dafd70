using System.Text.Json;
using System.Text.RegularExpressions;

namespace ForwardAuth.Tests.Deployment;

/// <summary>One instruction of a Dockerfile (continuation lines joined, comments dropped).</summary>
internal sealed record DockerInstruction(int Stage, string Keyword, string Arguments)
{
    /// <summary>The exec (JSON array) form's elements, or null for the shell form.</summary>
    public IReadOnlyList<string>? ExecForm()
    {
        var trimmed = Arguments.Trim();
        return trimmed.StartsWith('[') ? JsonSerializer.Deserialize<List<string>>(trimmed) : null;
    }
}

internal sealed partial class Dockerfile
{
    private Dockerfile(IReadOnlyList<DockerInstruction> instructions) => Instructions = instructions;

    public IReadOnlyList<DockerInstruction> Instructions { get; }

    public int FinalStage => Instructions.Max(i => i.Stage);

    public static Dockerfile Read(string path)
    {
        var instructions = new List<DockerInstruction>();
        var stage = -1;
        var pending = "";
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimEnd();
            if (pending.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0))
            {
                continue;
            }

            if (pending.Length > 0 && line.TrimStart().StartsWith('#'))
            {
                continue; // a comment inside a continued instruction
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var full = (pending + line).Trim();
            pending = "";
            var m = Instruction().Match(full);
            var keyword = m.Groups["keyword"].Value.ToUpperInvariant();
            if (keyword == "FROM")
            {
                stage++;
            }

            instructions.Add(new DockerInstruction(stage, keyword, m.Groups["args"].Value.Trim()));
        }

        return new Dockerfile(instructions);
    }

    public IEnumerable<DockerInstruction> InStage(int stage, string keyword) =>
        Instructions.Where(i => i.Stage == stage && i.Keyword == keyword);

    /// <summary>ENV of a stage as name → value (both the <c>ENV a=b c=d</c> and the legacy <c>ENV a b</c> forms).</summary>
    public Dictionary<string, string> Environment(int stage)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var instruction in InStage(stage, "ENV"))
        {
            var pairs = EnvPair().Matches(instruction.Arguments);
            if (pairs.Count == 0)
            {
                var parts = instruction.Arguments.Split(' ', 2);
                env[parts[0]] = parts.Length > 1 ? parts[1].Trim() : "";
                continue;
            }

            foreach (Match pair in pairs)
            {
                var value = pair.Groups["value"].Value;
                env[pair.Groups["name"].Value] = value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
            }
        }

        return env;
    }

    [GeneratedRegex(@"^(?<keyword>[A-Za-z]+)\s*(?<args>.*)$", RegexOptions.Singleline)]
    private static partial Regex Instruction();

    [GeneratedRegex(@"(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<value>""[^""]*""|\S*)")]
    private static partial Regex EnvPair();
}
