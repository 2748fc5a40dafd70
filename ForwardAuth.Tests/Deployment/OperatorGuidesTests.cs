using System.Reflection;
using System.Text.RegularExpressions;
using ForwardAuth.Cache;
using ForwardAuth.Observability;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Logging;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// docs/troubleshooting.md and docs/migration-memory-to-redis.md carry the reference document's troubleshooting
/// section and migration guide for this service: every issue, phase and checklist item is there, every log line they
/// quote is one the catalogue (Observability/Log.cs) writes under that event id, and the key kinds are the store's.
/// </summary>
public partial class OperatorGuidesTests
{
    private static string Read(params string[] path) => File.ReadAllText(Path.Combine([TestPaths.RepoRoot, .. path]));

    private static readonly string Reference = Read("docs", "reference", "redis-cache-design.md");

    private static Dictionary<int, string> Catalogue() =>
        typeof(Log).GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .ToDictionary(a => a.EventId, a => a.Message);

    /// <summary>A template as a pattern: each <c>{Name}</c> stands for any text.</summary>
    private static Regex Template(string message) => new("^" + Parameter().Replace(Regex.Escape(message), ".+") + "$", RegexOptions.Singleline);

    [Test]
    public void Troubleshooting_HasEachIssueOfTheReferenceDocument_AndItsDebugCommands()
    {
        var page = Read("docs", "troubleshooting.md");
        var issues = ReferenceIssue().Matches(Reference).Select(m => m.Groups["title"].Value).ToList();

        Assert.That(issues, Has.Count.EqualTo(5), "the reference document's issues 1-5");
        foreach (var (title, n) in issues.Select((t, i) => (t, i + 1)))
        {
            Assert.That(page, Does.Contain($"## Issue {n}: {title}\n"), title);
        }

        Assert.That(page, Does.Contain("## Debug commands\n").And.Contain("## Why was I sent to login?\n"));
        foreach (var command in new[] { "MONITOR", "SLOWLOG GET", "MEMORY DOCTOR", "--scan --pattern", "TTL", "INFO all" })
        {
            Assert.That(page, Does.Contain("redis-cli " + command), command);
        }
    }

    [TestCase("troubleshooting.md")]
    [TestCase("migration-memory-to-redis.md")]
    public void QuotedLogLines_AreTheCataloguesUnderTheirEventIds(string name)
    {
        var page = Read("docs", name);
        var catalogue = Catalogue();
        var quoted = 0;

        foreach (Match m in QuotedLine().Matches(page))
        {
            var id = int.Parse(m.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(catalogue.ContainsKey(id), Is.True, $"{name}: event id {id} is not in the catalogue ({m.Value})");
            Assert.That(Template(catalogue[id]).IsMatch(m.Groups["text"].Value), Is.True, $"{name}: `{m.Groups["text"].Value}` is not what event {id} writes: {catalogue[id]}");
            quoted++;
        }

        foreach (Match m in JsonLine().Matches(page))
        {
            var id = int.Parse(m.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture);
            var text = m.Groups["m"].Value.Replace("\\\"", "", StringComparison.Ordinal);
            Assert.That(catalogue.ContainsKey(id), Is.True, $"{name}: event id {id} is not in the catalogue");
            Assert.That(Template(catalogue[id]).IsMatch(text), Is.True, $"{name}: a JSON line of event {id} is not what it writes: {text}");
            quoted++;
        }

        Assert.That(quoted, Is.GreaterThanOrEqualTo(name == "troubleshooting.md" ? 15 : 1), "log lines quoted with their event ids");
    }

    [Test]
    public void Troubleshooting_KeyTable_NamesExactlyTheStoresKeyKinds()
    {
        var page = Read("docs", "troubleshooting.md");
        var table = page[page.IndexOf("| Kind | Id is the SHA-256 of |", StringComparison.Ordinal)..];
        var kinds = KindRow().Matches(table[..table.IndexOf("\n\n", StringComparison.Ordinal)]).Select(m => m.Groups["kind"].Value);
        var declared = typeof(StoreKeys).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!);

        Assert.That(kinds, Is.EquivalentTo(declared));
    }

    [Test]
    public void Migration_HasTheReferencePhasesRollbackAndEveryChecklistItem()
    {
        var page = Read("docs", "migration-memory-to-redis.md");
        foreach (var heading in new[] { "## Phase 1: preparation", "## Phase 2: gradual rollout", "## Phase 3: full migration", "## Rollback plan", "## Migration checklist" })
        {
            Assert.That(page, Does.Contain(heading + "\n"), heading);
        }

        var checklist = Reference[Reference.IndexOf("### Migration Checklist", StringComparison.Ordinal)..];
        var items = ChecklistItem().Matches(checklist[..checklist.IndexOf("\n\n##", StringComparison.Ordinal)]).Select(m => m.Groups["item"].Value).ToList();
        Assert.That(items, Has.Count.EqualTo(8));
        foreach (var item in items)
        {
            Assert.That(page, Does.Contain("- [ ] " + item), "the reference document's checklist item: " + item);
        }

        Assert.That(page, Does.Contain("EndToEnd/MigrationTests.cs"), "names the test that runs the phases");
    }

    [GeneratedRegex(@"\\\{\w+\}")]
    private static partial Regex Parameter();

    [GeneratedRegex(@"^#### Issue \d: (?<title>"".+"")$", RegexOptions.Multiline)]
    private static partial Regex ReferenceIssue();

    [GeneratedRegex(@"`(?<text>[^`\n]+)`\s+\((?<id>\d{1,3})(?:,|\))")]
    private static partial Regex QuotedLine();

    [GeneratedRegex(@"""@m"":""(?<m>(?:[^""\\]|\\.)*)"".*?""EventId"":\{""Id"":(?<id>\d+)")]
    private static partial Regex JsonLine();

    [GeneratedRegex(@"^\| `(?<kind>[a-z]+)` \|", RegexOptions.Multiline)]
    private static partial Regex KindRow();

    [GeneratedRegex(@"^- \[ \] (?<item>.+)$", RegexOptions.Multiline)]
    private static partial Regex ChecklistItem();
}
