using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ForwardAuth.Observability;
using ForwardAuth.Tests.Support;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ForwardAuth.Tests.Deployment;

/// <summary>
/// The manual: README.md and docs/*.md link to files (and headings) that exist, every page is reachable from the
/// README, the Traefik and Caddy examples are valid and match what the repository runs, and the operations page
/// names every metric the service declares and only log lines its catalogue has.
/// </summary>
public partial class DocsPagesTests
{
    private static readonly string Root = TestPaths.RepoRoot;

    private static IEnumerable<string> ManualPages() =>
        new[] { Path.Combine(Root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Order(StringComparer.Ordinal));

    private static string Page(string name) => File.ReadAllText(Path.Combine(Root, name));

    private static List<string> Blocks(string markdown, string language) =>
        FencedBlock().Matches(markdown).Where(m => m.Groups["lang"].Value == language).Select(m => m.Groups["body"].Value).ToList();

    /// <summary>The text outside fenced blocks and inline code spans: where markdown links and headings are.</summary>
    private static string Prose(string markdown) => InlineCode().Replace(FencedBlock().Replace(markdown, ""), "");

    [Test]
    public void Links_InTheReadmeAndEveryDocsPage_Resolve()
    {
        var checkedLinks = 0;
        foreach (var page in ManualPages())
        {
            var name = Path.GetRelativePath(Root, page);
            foreach (Match link in MarkdownLink().Matches(Prose(File.ReadAllText(page))))
            {
                var target = link.Groups["target"].Value;
                if (Scheme().IsMatch(target))
                {
                    continue;
                }

                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var file = hash < 0 ? target : target[..hash];
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var resolved = file.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, file));
                checkedLinks++;

                Assert.That(resolved, Does.StartWith(Root), $"{name}: {target} leaves the repository");
                Assert.That(File.Exists(resolved) || Directory.Exists(resolved), Is.True, $"{name}: {target} does not exist");
                if (anchor is not null && resolved.EndsWith(".md", StringComparison.Ordinal))
                {
                    Assert.That(Anchors(File.ReadAllText(resolved)), Does.Contain(anchor), $"{name}: {target} names no heading of {Path.GetRelativePath(Root, resolved)}");
                }
            }
        }

        Assert.That(checkedLinks, Is.GreaterThan(30), "relative links found");
    }

    [Test]
    public void EveryDocsPage_IsLinkedFromTheReadme()
    {
        var links = MarkdownLink().Matches(Prose(Page("README.md"))).Select(m => m.Groups["target"].Value.Split('#')[0]).ToHashSet(StringComparer.Ordinal);

        foreach (var page in Directory.GetFiles(Path.Combine(Root, "docs"), "*.md"))
        {
            Assert.That(links, Does.Contain("docs/" + Path.GetFileName(page)), Path.GetFileName(page));
        }
    }

    [Test]
    public void Readme_TraefikExample_IsAValidMiddlewareAndARouterThatUsesIt()
    {
        var block = Blocks(Page("README.md"), "yaml").Single(b => b.Contains("kind: Middleware", StringComparison.Ordinal));
        ManifestValidator.AssertAllValid(ManifestValidator.ValidateYaml(block), "README Traefik example");
        var manifests = ManifestSet.FromYaml("README.md", block);
        var middleware = manifests.Single("Middleware");
        var route = manifests.Single("IngressRoute");

        Assert.That(middleware.Text("spec.forwardAuth.address"), Does.EndWith("/auth"));
        Assert.That(middleware.Items("spec.forwardAuth.authResponseHeaders").Select(h => h.GetValue<string>()), Is.EqualTo(HelmChartTests.IdentityHeaders));
        Assert.That(middleware.Items("spec.forwardAuth.addAuthCookiesToResponse").Select(h => h.GetValue<string>()), Is.EqualTo(new[] { "_forwardauth_session" }));
        Assert.That(route.Items("spec.routes").SelectMany(r => r.Items("middlewares")).Select(m => m.Text("name")), Is.EqualTo(new[] { middleware.Name() }));
        Assert.That(route.Text("metadata.namespace"), Is.EqualTo(middleware.Text("metadata.namespace")), "Traefik looks a Middleware up in the route's namespace");
    }

    [Test]
    public void Readme_MySessionsRouter_IsValid_AndSendsThePathToForwardAuthItself()
    {
        var block = Blocks(Page("README.md"), "yaml").Single(b => b.Contains("PathPrefix(`/oauth2/sessions`)", StringComparison.Ordinal));
        ManifestValidator.AssertAllValid(ManifestValidator.ValidateYaml(block), "README My sessions router");
        var route = ManifestSet.FromYaml("README.md", block).Single("IngressRoute").Items("spec.routes").Single();

        Assert.That(route.Text("match"), Does.Contain("PathPrefix(`/oauth2/sessions`)").And.Contain("Host(`app.example.com`)"));
        Assert.That(route.Items("services").Single().Text("name"), Is.EqualTo("forwardauth"), "served by ForwardAuth, not the app");
        Assert.That(route.At("middlewares"), Is.Null, "the page authenticates its own cookie");
    }

    [Test]
    public void Readme_SingleSignOnExample_AuthHostStraightToForwardAuth_AppHostBehindTheMiddleware()
    {
        var readme = Page("README.md");
        var section = readme[readme.IndexOf("## Single sign-on across domains", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 5, StringComparison.Ordinal)];
        var block = Blocks(section, "yaml").Single(b => b.Contains("kind: IngressRoute", StringComparison.Ordinal));
        ManifestValidator.AssertAllValid(ManifestValidator.ValidateYaml(block), "README single sign-on example");
        var routes = Yaml.ReadDocuments(block).Where(d => d.Kind() == "IngressRoute").ToList();
        var main = Blocks(readme, "yaml").Single(b => b.Contains("kind: Middleware", StringComparison.Ordinal));

        Assert.That(routes, Has.Count.EqualTo(2));
        Assert.That(routes[0].Items("spec.routes").SelectMany(r => r.Items("middlewares")), Is.Empty, "the auth host reaches ForwardAuth itself");
        Assert.That(routes[0].Items("spec.routes").SelectMany(r => r.Items("services")).Select(s => s.Text("name")), Is.EqualTo(new[] { "forwardauth" }));
        Assert.That(routes[1].Items("spec.routes").SelectMany(r => r.Items("middlewares")).Select(m => m.Text("name")),
            Is.EqualTo(new[] { ManifestSet.FromYaml("README.md", main).Single("Middleware").Name() }), "the app host keeps the Middleware");
        Assert.That(routes[1].Text("metadata.namespace"), Is.EqualTo(ManifestSet.FromYaml("README.md", main).Single("Middleware").Text("metadata.namespace")));
    }

    [Test]
    public void Readme_StepUpExample_IsValid_TwoMiddlewaresWhoseAddressesParse()
    {
        // Fenced `yml`: the README's one `yaml` block is the getting-started example above.
        var block = Blocks(Page("README.md"), "yml").Single();
        ManifestValidator.AssertAllValid(ManifestValidator.ValidateYaml(block), "README step-up example");
        var manifests = Yaml.ReadDocuments(block);
        var addresses = manifests.Where(d => d.Kind() == "Middleware").Select(m => new Uri(m.Text("spec.forwardAuth.address"))).ToList();

        Assert.That(addresses.Select(a => a.AbsolutePath), Is.EqualTo(new[] { "/auth", "/auth" }));
        var rules = addresses.Select(a => ForwardAuth.Auth.PolicyRules.TryFromQuery(
            new Microsoft.AspNetCore.Http.QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(a.Query)), out _)).ToList();
        Assert.That(rules[0]!.StepUp.IsEmpty, Is.True);
        Assert.That(rules[1]!.StepUp.Acr, Is.EqualTo(new[] { "gold", "platinum" }));
        Assert.That(rules[1]!.StepUp.MaxAgeSeconds, Is.EqualTo(900));
        var route = manifests.Single(d => d.Kind() == "IngressRoute");
        Assert.That(route.Items("spec.routes").First().Items("middlewares").Single().Text("name"), Is.EqualTo("forwardauth-gold"));
    }

    [Test]
    public void Proxies_TraefikExamples_AreValid_AndEveryMiddlewareListsTheIdentityHeaders()
    {
        var blocks = Blocks(Page("docs/proxies.md"), "yaml");
        var yaml = string.Join("\n---\n", blocks);
        ManifestValidator.AssertAllValid(ManifestValidator.ValidateYaml(yaml), "docs/proxies.md Traefik examples");
        var documents = Yaml.ReadDocuments(yaml);
        var middlewares = documents.Where(d => d.Kind() == "Middleware").ToList();
        var backchannel = documents.Single(d => d.Kind() == "IngressRoute");

        Assert.That(middlewares, Has.Count.EqualTo(2));
        foreach (var middleware in middlewares)
        {
            Assert.That(middleware.Items("spec.forwardAuth.authResponseHeaders").Select(h => h.GetValue<string>()), Is.EqualTo(HelmChartTests.IdentityHeaders), middleware.Name());
        }

        Assert.That(middlewares.Select(m => m.Text("spec.forwardAuth.address")), Has.Some.Contains("/auth?allowedRolesAndGroups=admins"));
        var backchannelRoute = backchannel.Items("spec.routes").Single();
        Assert.That(backchannelRoute.Text("match"), Does.Contain("Path(`/oauth2/backchannel-logout`)"));
        Assert.That(backchannelRoute.At("middlewares"), Is.Null, "the provider's POST must not go through forwardAuth");
        Assert.That(backchannelRoute.Items("services").Single().Text("name"), Is.EqualTo("forwardauth"));
    }

    [Test]
    public void Proxies_CaddyExample_IsTheLocalStacksCaddyfile()
    {
        var block = Blocks(Page("docs/proxies.md"), "caddyfile").Single();
        var caddyfile = File.ReadAllLines(Path.Combine(Root, "examples", "local", "Caddyfile")).Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);
        var lines = block.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

        Assert.That(lines, Has.Some.StartsWith("forward_auth ").And.Some.StartsWith("copy_headers ").And.Some.StartsWith("request_header -X-Forwarded-User"));
        foreach (var line in lines)
        {
            Assert.That(caddyfile, Does.Contain(line), "a line of docs/proxies.md's Caddy example that examples/local/Caddyfile does not have");
        }
    }

    [Test]
    public void Operations_MetricsTable_ListsEveryMetricTheServiceDeclares()
    {
        var metrics = new ForwardAuthMetrics(Metrics.NewCustomRegistry());
        var names = typeof(ForwardAuthMetrics).GetProperties().Select(p => p.GetValue(metrics)).OfType<Collector>().Select(c => c.Name).ToList();
        var page = Page("docs/operations.md");
        var table = page[page.IndexOf("| Metric | Type | Labels | Meaning |", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("\n\n", StringComparison.Ordinal)];

        Assert.That(names, Has.Count.GreaterThanOrEqualTo(20));
        foreach (var name in names)
        {
            Assert.That(table, Does.Contain($"`{name}`"), name + " is declared but not in docs/operations.md's metrics table");
        }
    }

    [Test]
    public void Operations_LogTable_NamesOnlyLinesOfTheCatalogue()
    {
        var catalogue = typeof(Log).GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .ToDictionary(a => a.EventId, a => a.Message);
        var page = Page("docs/operations.md");
        var table = page[page.IndexOf("| Event id | Line |", StringComparison.Ordinal)..];
        var rows = LogRow().Matches(table[..table.IndexOf("\n\n", StringComparison.Ordinal)]).ToList();

        Assert.That(catalogue, Has.Count.GreaterThanOrEqualTo(30), "the catalogue, read from Observability/Log.cs");
        Assert.That(rows, Has.Count.GreaterThanOrEqualTo(10));
        foreach (var row in rows)
        {
            var ids = row.Groups["ids"].Value.Split(',').Select(id => int.Parse(id.Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.That(ids.Where(id => !catalogue.ContainsKey(id)), Is.Empty, "event ids not in the catalogue: " + row.Value);
            var line = BacktickedLine().Match(row.Groups["line"].Value);
            if (!line.Success)
            {
                continue;
            }

            var fragments = Placeholder().Split(line.Groups["text"].Value).Select(f => f.Trim()).Where(f => f.Length > 1).ToList();
            Assert.That(ids.Any(id => fragments.All(f => catalogue[id].Contains(f, StringComparison.Ordinal))), Is.True,
                $"{row.Value}: no event of the row has this text ({string.Join(" | ", ids.Select(id => catalogue[id]))})");
        }
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.</summary>
    private static HashSet<string> Anchors(string markdown) =>
        Heading().Matches(FencedBlock().Replace(markdown, ""))
            .Select(m => MarkdownLink().Replace(m.Groups["text"].Value.Replace("`", "", StringComparison.Ordinal), l => l.Groups["label"].Value))
            .Select(text => NotInAnchor().Replace(text.Trim().ToLowerInvariant(), "").Replace(' ', '-'))
            .ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"^```(?<lang>\w*)\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedBlock();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"\[(?<label>[^\]]*)\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex Scheme();

    [GeneratedRegex(@"^#{1,6} +(?<text>.+?) *$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{Nd} _-]")]
    private static partial Regex NotInAnchor();

    [GeneratedRegex(@"^\| (?<ids>\d+(?:, \d+)*) \| (?<line>.*) \|$", RegexOptions.Multiline)]
    private static partial Regex LogRow();

    [GeneratedRegex(@"^`(?<text>[^`]+)`")]
    private static partial Regex BacktickedLine();

    [GeneratedRegex(@"…|<[^>]+>|\bN(?=s?\b)")]
    private static partial Regex Placeholder();
}
