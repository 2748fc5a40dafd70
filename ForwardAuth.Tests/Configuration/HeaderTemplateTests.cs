using System.Text.Json;
using ForwardAuth.Configuration;
using ForwardAuth.Endpoints;
using ForwardAuth.Oidc;
using Microsoft.AspNetCore.Http;

namespace ForwardAuth.Tests.Configuration;

/// <summary>
/// The interpreter of the plugin's <c>headers</c> templates, through the whole path: the configuration (HEADERS),
/// the claims the identity keeps for the templates, and the header as IdentityHeaders writes it (sanitised).
/// </summary>
public class HeaderTemplateTests
{
    private const string Claims = """
        {"sub":"alice","email":"alice@example.com","email_verified":true,"name":"Alice","groups":["admins","users"],
         "roles":["admin","dev"],"role":"admin","realm_access":{"roles":["r1","r2"]},"https://example.com/tenant":"acme",
         "empty":"","count":0,"exp":1700000000,"nested":{"a":{"b":"deep"}},"evil":"x\r\nInjected: 1",
         "comma_groups":["a,b","c"],"evil_list":["a\r\nX-Injected: 1","b\u0000c"],"evil_obj":{"k":"v\nw"},"single_group":"solo","flag":false,"not_read":"secret-claim"}
        """;

    internal static Dictionary<string, string> Settings(params (string Name, string Value)[] headers) => new()
    {
        ["PROVIDER_URL"] = "https://id.example.com",
        ["CLIENT_ID"] = "forwardauth",
        ["CLIENT_SECRET"] = "s3cret-value",
        ["SESSION_ENCRYPTION_KEY"] = "0123456789abcdef0123456789abcdef-key",
        ["HEADERS"] = JsonSerializer.Serialize(headers.Select(h => new Dictionary<string, string> { ["name"] = h.Name, ["value"] = h.Value })),
    };

    internal static ForwardAuthOptions Load(Dictionary<string, string> settings) =>
        ConfigurationLoader.Load([], n => settings.TryGetValue(n, out var v) ? v : null);

    private static string Render(string template, string? accessToken = "at-123", string? idToken = "idt-456")
    {
        var options = Load(Settings(("X-T", template)));
        using var payload = JsonDocument.Parse(Claims);
        var identity = UserIdentity.FromClaims(payload.RootElement, options)!;
        var headers = new HeaderDictionary();
        IdentityHeaders.Write(headers, identity, accessToken, options, idToken);
        return headers["X-T"].ToString();
    }

    [TestCase("{{.Claims.email}}", "alice@example.com")]
    [TestCase("{{{{.Claims.email}}}}", "alice@example.com", Description = "the plugin README's escaped form")]
    [TestCase("Bearer {{.AccessToken}}", "Bearer at-123")]
    [TestCase("{{.IdToken}}", "idt-456")]
    [TestCase("{{.IDToken}}", "idt-456")]
    [TestCase("id={{.Claims.sub}};name={{.Claims.name}}", "id=alice;name=Alice")]
    [TestCase("{{.Claims.realm_access.roles}}", "r1,r2")]
    [TestCase("{{.Claims.nested.a.b}}", "deep")]
    [TestCase("{{.Claims.missing}}", "")]
    [TestCase("{{.Claims.missing.deeper}}", "")]
    [TestCase("{{.Claims.email.x}}", "")]
    [TestCase("{{.Claims.exp}}", "1700000000")]
    [TestCase("{{.Claims.email_verified}}", "true")]
    [TestCase("{{.Claims.nested}}", """{"a":{"b":"deep"}}""")]
    [TestCase("{{.Claims.comma_groups}}", "c", Description = "an element with a comma of its own is left out")]
    [TestCase("{{.Claims.evil}}", "xInjected: 1", Description = "no CR/LF reaches a header")]
    [TestCase("{{range .Claims.evil_list}}{{.}};{{end}}", "aX-Injected: 1;bc;", Description = "range elements are sanitised too")]
    [TestCase("{{.Claims.evil_list}}", "aX-Injected: 1,bc")]
    [TestCase("{{.Claims.evil_obj}}", """{"k":"v\nw"}""", Description = "an object prints as JSON: the newline is escaped, not raw")]
    [TestCase("{{\"a\\r\\nInjected: 1\"}}", "aInjected: 1", Description = "a quoted literal with escapes")]
    [TestCase("a\r\n{{.Claims.role}}", "aadmin", Description = "literal text with a raw line break")]
    [TestCase("{{range .Claims.groups}}{{.}},{{end}}", "admins,users,")]
    [TestCase("{{range $i, $e := .Claims.roles}}{{if $i}},{{end}}{{$e}}{{end}}", "admin,dev")]
    [TestCase("{{range $e := .Claims.groups}}[{{$e}}]{{end}}", "[admins][users]")]
    [TestCase("{{range .Claims.missing}}x{{else}}none{{end}}", "none")]
    [TestCase("{{range .Claims.single_group}}<{{.}}>{{end}}", "<solo>")]
    [TestCase("{{range $k, $v := .Claims.realm_access}}{{$k}}={{$v}};{{end}}", "roles=r1,r2;")]
    [TestCase("{{range .Claims.groups}}{{$.Claims.sub}}:{{.}} {{end}}", "alice:admins alice:users ")]
    [TestCase("{{if eq .Claims.role \"admin\"}}true{{else}}false{{end}}", "true", Description = "the plugin README's X-Is-Admin")]
    [TestCase("{{if eq .Claims.role \"dev\"}}true{{else}}false{{end}}", "false")]
    [TestCase("{{if eq .Claims.role \"dev\" \"admin\"}}y{{else}}n{{end}}", "y", Description = "eq a b c: a equals any of the others")]
    [TestCase("{{if eq .Claims.missing \"admin\"}}y{{else}}n{{end}}", "n")]
    [TestCase("{{eq .Claims.role \"admin\"}}", "true")]
    [TestCase("{{if .Claims.email_verified}}yes{{else}}no{{end}}", "yes")]
    [TestCase("{{if .Claims.flag}}yes{{else}}no{{end}}", "no")]
    [TestCase("{{if .Claims.count}}yes{{else}}no{{end}}", "no")]
    [TestCase("{{if .Claims.missing}}a{{else if .Claims.role}}b{{else}}c{{end}}", "b")]
    [TestCase("{{with .Claims.realm_access}}{{.roles}}{{end}}", "r1,r2")]
    [TestCase("{{with .Claims.missing}}x{{else}}y{{end}}", "y")]
    [TestCase("{{with $r := .Claims.realm_access}}{{$r.roles}}{{end}}", "r1,r2")]
    [TestCase("{{with .Claims}}{{.email}}{{end}}", "alice@example.com")]
    [TestCase("{{with .Claims.missing}}x{{else with .Claims.role}}{{.}}{{end}}", "admin")]
    [TestCase("{{default \"none\" .Claims.missing}}", "none")]
    [TestCase("{{default \"none\" .Claims.empty}}", "none")]
    [TestCase("{{default \"none\" .Claims.count}}", "0", Description = "the plugin's default replaces only a missing value or the empty string")]
    [TestCase("{{.Claims.missing | default \"none\"}}", "none")]
    [TestCase("{{get .Claims \"https://example.com/tenant\"}}", "acme")]
    [TestCase("{{default \"x\" (get .Claims \"absent:claim\")}}", "x")]
    [TestCase("{{get .Claims.realm_access \"roles\"}}", "r1,r2")]
    [TestCase("x {{- .Claims.role -}} y", "xadminy")]
    [TestCase("{{/* a comment */}}z", "z")]
    [TestCase("{{\"}}\"}}", "}}")]
    [TestCase("static", "static")]
    public void Template_Renders(string template, string expected) =>
        Assert.That(Render(template), Is.EqualTo(expected));

    [Test]
    public void Tokens_Missing_RenderEmpty_LiteralTextStays()
    {
        Assert.That(Render("Bearer {{.AccessToken}}", accessToken: null), Is.EqualTo("Bearer "));
        Assert.That(Render("{{.IdToken}}", idToken: null), Is.Empty);
    }

    [Test]
    public void Identity_KeepsOnlyTheClaimsTheTemplatesRead()
    {
        var options = Load(Settings(
            ("X-A", "{{.Claims.email}}{{range .Claims.realm_access.roles}}{{.}}{{end}}"),
            ("X-B", "{{get .Claims \"https://example.com/tenant\"}}{{with .Claims}}{{.role}}{{end}}")));
        using var payload = JsonDocument.Parse(Claims);

        var identity = UserIdentity.FromClaims(payload.RootElement, options)!;

        Assert.That(identity.TemplateClaims!.Keys, Is.EquivalentTo(new[] { "email", "realm_access", "https://example.com/tenant", "role" }));
    }

    [Test]
    public void NoTemplates_NothingKept_NoHeader()
    {
        var settings = Settings();
        settings.Remove("HEADERS");
        var options = Load(settings);
        using var payload = JsonDocument.Parse(Claims);

        var identity = UserIdentity.FromClaims(payload.RootElement, options)!;
        var headers = new HeaderDictionary();
        IdentityHeaders.Write(headers, identity, "at", options, "idt");

        Assert.That(identity.TemplateClaims, Is.Null);
        Assert.That(headers.Keys, Does.Not.Contain("X-T"));
    }

    [Test]
    public void NoIdentity_ExcludedPath_EveryTemplateHeaderPresentAndEmpty()
    {
        var options = Load(Settings(("X-User-Email", "{{.Claims.email}}"), ("X-Static", "Bearer {{.AccessToken}}")));
        var headers = new HeaderDictionary();

        IdentityHeaders.Write(headers, null, null, options);

        Assert.That(headers["X-User-Email"].ToString(), Is.Empty);
        Assert.That(headers["X-Static"].ToString(), Is.Empty);
        Assert.That(IdentityHeaders.Names(options), Does.Contain("X-User-Email").And.Contain("X-Static"));
    }

    [Test]
    public void SmugglingCheck_CoversTemplateHeaders()
    {
        var options = Load(Settings(("X-User-Email", "{{.Claims.email}}")));
        var request = new HeaderDictionary { ["X_User_Email"] = "admin@example.com" };

        Assert.That(IdentityHeaders.FindSmuggled(request, options), Is.EqualTo("X_User_Email"));
    }
}
