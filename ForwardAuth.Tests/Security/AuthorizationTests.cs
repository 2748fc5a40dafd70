using System.Net;
using System.Text.Json;
using ForwardAuth.Tests.Support;
using static ForwardAuth.Tests.Security.SecurityStack;

namespace ForwardAuth.Tests.Security;

/// <summary>
/// The policy against identities an attacker shapes (a provider that lets users choose their address or group names):
/// email-domain tricks (<c>a@evil.com@allowed.com</c>, case, trailing dot, Unicode look-alikes, unverified
/// addresses), group claims as a string, an array, nested, of the wrong type, missing or huge, and group names that
/// would read as two groups in the comma-separated header. Tokens are minted with the provider's key and the rules
/// come from the forwardAuth address, as a route's Middleware would set them.
/// </summary>
[TestFixture]
public class AuthorizationTests
{
    private const string Domain = "/auth?allowedUserDomains=allowed.com";
    private const string Admins = "/auth?allowedRolesAndGroups=admins";

    private static async Task<HttpResponseMessage> AsAsync(Dictionary<string, object> claims, string authPath, string path = "/api")
    {
        using var client = new ForwardAuthClient();
        return await client.AuthAsync(A, "GET", path, Attack.Bearer(Provider.Mint(claims, "at+jwt")), authPath);
    }

    private static Dictionary<string, object> With(string? email, params (string Claim, object Value)[] extra)
    {
        var claims = Attack.AccessClaims("user-" + Guid.NewGuid().ToString("N")[..8], email);
        foreach (var (claim, value) in extra)
        {
            claims[claim] = value;
        }

        return claims;
    }

    [TestCase("a@allowed.com")]
    [TestCase("a@ALLOWED.COM")]
    [TestCase("a@Allowed.Com")]
    [TestCase("first.last+tag@allowed.com")]
    public async Task EmailDomain_ExactDomainAnyAsciiCase_200(string email)
    {
        using var response = await AsAsync(With(email), Domain);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("a@evil.com@allowed.com")]
    [TestCase("a@allowed.com@evil.com")]
    [TestCase("\"a@allowed.com\"@evil.com")]
    [TestCase("a%40allowed.com@evil.com")]
    [TestCase("a@allowed.com.")]
    [TestCase("a@allowed.com..")]
    [TestCase("a@.allowed.com")]
    [TestCase("a@sub.allowed.com")]
    [TestCase("a@allowed.com.evil.com")]
    [TestCase("a@evilallowed.com")]
    [TestCase("a@allowed.co")]
    [TestCase("a@allowed.com ")]
    [TestCase("a@ allowed.com")]
    [TestCase("a@allowed.com\n")]
    [TestCase("a@allowed.com\u0000")]
    [TestCase("a@allowed.com\u200b")]
    [TestCase("a@\u0430llowed.com")]
    [TestCase("a@xn--llowed-2nf.com")]
    [TestCase("a@\uff41llowed.com")]
    [TestCase("a@allowed\u3002com")]
    [TestCase("a@allowed\uff0ecom")]
    [TestCase("a@[allowed.com]")]
    [TestCase("@allowed.com")]
    [TestCase("allowed.com")]
    [TestCase("a@")]
    [TestCase("")]
    public async Task EmailDomain_Trick_403(string email)
    {
        using var response = await AsAsync(With(email), Domain);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(response.Headers.Location, Is.Null, "a denial is never a redirect");
    }

    [TestCase("a@INSIGHT.IO", 200)]
    [TestCase("a@\u0130NS\u0130GHT.\u0130O", 403)]
    [TestCase("a@\u0131ns\u0131ght.\u0131o", 403)]
    [TestCase("a@insight.\u0456o", 403)]
    public async Task EmailDomain_UnicodeCaseFolding_NeverMatchesAnotherDomain(string email, int expected)
    {
        using var response = await AsAsync(With(email), "/auth?allowedUserDomains=insight.io");

        Assert.That((int)response.StatusCode, Is.EqualTo(expected));
    }

    [TestCase(false)]
    [TestCase("false")]
    [TestCase("FALSE")]
    [TestCase(0)]
    [TestCase("no")]
    public async Task EmailDomain_UnverifiedAddress_IsNoAddress403(object verified)
    {
        using var response = await AsAsync(With("a@allowed.com", ("email_verified", verified)), Domain);
        using var open = await AsAsync(With("a@allowed.com", ("email_verified", verified)), "/auth");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(open.Headers.GetValues("X-Auth-Request-Email").Single(), Is.Empty, "an unverified address is not passed on either");
    }

    [TestCase(true)]
    [TestCase("true")]
    public async Task EmailDomain_VerifiedAddress_200(object verified)
    {
        using var response = await AsAsync(With("a@allowed.com", ("email_verified", verified)), Domain);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task EmailDomain_EmailAsArrayOrNumber_NoAddress403()
    {
        using var asArray = await AsAsync(With(null, ("email", new[] { "a@allowed.com" })), Domain);
        using var asNumber = await AsAsync(With(null, ("email", 42)), Domain);
        using var missing = await AsAsync(With(null), Domain);

        Assert.That(new[] { asArray.StatusCode, asNumber.StatusCode, missing.StatusCode }, Is.All.EqualTo(HttpStatusCode.Forbidden));
    }

    [TestCase("ALICE@EXAMPLE.COM", 200)]
    [TestCase("alice@example.com.", 403)]
    [TestCase("alice@example.com ", 403)]
    [TestCase("alice@evil.com@example.com", 403)]
    [TestCase("alice@example.com@evil.com", 403)]
    [TestCase("\u0430lice@example.com", 403)]
    public async Task AllowedUsers_OnlyTheListedAddressAnyAsciiCase(string email, int expected)
    {
        using var response = await AsAsync(With(email), "/auth?allowedUsers=alice@example.com");

        Assert.That((int)response.StatusCode, Is.EqualTo(expected));
    }

    [Test]
    public async Task AllowedUsers_UnverifiedListedAddress_403()
    {
        using var response = await AsAsync(With("alice@example.com", ("email_verified", false)), "/auth?allowedUsers=alice@example.com");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    public static IEnumerable<TestCaseData> GroupShapes()
    {
        yield return new TestCaseData("groups", "admins", 200).SetArgDisplayNames("string");
        yield return new TestCaseData("groups", new[] { "admins" }, 200).SetArgDisplayNames("array");
        yield return new TestCaseData("groups", new[] { "users", "admins" }, 200).SetArgDisplayNames("array, second");
        yield return new TestCaseData("realm_access", new Dictionary<string, object> { ["roles"] = new[] { "admins" } }, 200).SetArgDisplayNames("nested roles");
        yield return new TestCaseData("realm_access", new Dictionary<string, object> { ["roles"] = "admins" }, 200).SetArgDisplayNames("nested string");
        yield return new TestCaseData("realm_access.roles", new[] { "admins" }, 200).SetArgDisplayNames("dotted claim name");
        yield return new TestCaseData("groups", new[] { "Admins" }, 403).SetArgDisplayNames("other case");
        yield return new TestCaseData("groups", new[] { "admins " }, 403).SetArgDisplayNames("trailing space");
        yield return new TestCaseData("groups", "admins,users", 403).SetArgDisplayNames("comma string is one group");
        yield return new TestCaseData("groups", "users admins", 403).SetArgDisplayNames("space string is one group");
        yield return new TestCaseData("groups", new[] { new[] { "admins" } }, 403).SetArgDisplayNames("nested array");
        // A role map (Zitadel: the keys are the roles, each value an object or true) counts its keys; any other object none.
        yield return new TestCaseData("groups", new Dictionary<string, object> { ["admins"] = true }, 200).SetArgDisplayNames("role map, true");
        yield return new TestCaseData("groups", new Dictionary<string, object> { ["admins"] = new Dictionary<string, object> { ["org"] = "x" } }, 200).SetArgDisplayNames("role map, objects");
        yield return new TestCaseData("groups", new Dictionary<string, object> { ["admins"] = false }, 403).SetArgDisplayNames("object, false");
        yield return new TestCaseData("groups", new Dictionary<string, object> { ["admins"] = "yes" }, 403).SetArgDisplayNames("object, string value");
        yield return new TestCaseData("groups", new Dictionary<string, object> { ["admins"] = true, ["note"] = "x" }, 403).SetArgDisplayNames("object, mixed values");
        yield return new TestCaseData("groups", new[] { new Dictionary<string, object> { ["name"] = "admins" } }, 403).SetArgDisplayNames("array of objects");
        yield return new TestCaseData("groups", true, 403).SetArgDisplayNames("boolean");
        yield return new TestCaseData("realm_access", new Dictionary<string, object> { ["roles"] = new Dictionary<string, object> { ["x"] = "admins" } }, 403).SetArgDisplayNames("nested object");
        yield return new TestCaseData("realm_access", new[] { "admins" }, 403).SetArgDisplayNames("parent is an array");
        yield return new TestCaseData("group", new[] { "admins" }, 403).SetArgDisplayNames("other claim name");
        yield return new TestCaseData("roles", new[] { "admins" }, 403).SetArgDisplayNames("roles claim not configured");
    }

    [TestCaseSource(nameof(GroupShapes))]
    public async Task Groups_ClaimShape_OnlyStringsOfTheConfiguredClaimsCount(string claim, object value, int expected)
    {
        using var response = await AsAsync(With("g@example.com", (claim, value)), Admins);

        Assert.That((int)response.StatusCode, Is.EqualTo(expected));
    }

    [Test]
    public async Task Groups_Missing_403()
    {
        using var response = await AsAsync(With("g@example.com"), Admins);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Groups_JsonNull_403()
    {
        var claims = With("g@example.com");
        claims["groups"] = JsonDocument.Parse("null").RootElement;

        using var response = await AsAsync(claims, Admins);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [TestCase(999, 200)]
    [TestCase(1000, 403)]
    public async Task Groups_Huge_OnlyTheFirstThousandCount(int position, int expected)
    {
        var groups = Enumerable.Range(0, 1200).Select(i => "g" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        groups[position] = "admins";

        using var response = await AsAsync(With("g@example.com", ("groups", groups)), Admins);

        Assert.That((int)response.StatusCode, Is.EqualTo(expected), "a bounded list: what is cut off can only deny, never allow");
    }

    [Test]
    public async Task Groups_HugeWithoutTheRuleGroup_403AndTheHeaderIsBounded()
    {
        var groups = Enumerable.Range(0, 1200).Select(i => "g" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        using var allowed = await AsAsync(With("g@example.com", ("groups", groups)), "/auth");
        using var denied = await AsAsync(With("g@example.com", ("groups", groups)), Admins);

        Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(allowed.Headers.GetValues("X-Auth-Request-Groups").Single().Split(','), Has.Length.EqualTo(1000));
        Assert.That(denied.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [TestCase(1024, 200)]
    [TestCase(1025, 403)]
    public async Task Groups_OverlongName_Ignored(int length, int expected)
    {
        var name = new string('a', length);

        using var response = await AsAsync(With("g@example.com", ("groups", new[] { name })), "/auth?allowedRolesAndGroups=" + name);

        Assert.That((int)response.StatusCode, Is.EqualTo(expected));
    }

    [Test]
    public async Task Groups_TokenTooLargeForTheLimit_401()
    {
        var groups = Enumerable.Range(0, 1400).Select(i => "group-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        using var response = await AsAsync(With("g@example.com", ("groups", groups)), "/auth");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [TestCase("x,admins")]
    [TestCase("users,admins")]
    [TestCase(",admins")]
    public async Task Groups_NameWithAComma_NeverReadsAsAnotherGroupInTheHeader(string name)
    {
        using var response = await AsAsync(With("g@example.com", ("groups", new[] { "users", name })), "/auth");
        using var ruled = await AsAsync(With("g@example.com", ("groups", new[] { "users", name })), Admins);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("X-Auth-Request-Groups").Single().Split(','), Is.EqualTo(new[] { "users" }), "a backend splitting on ',' must not see 'admins'");
        Assert.That(ruled.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task ClaimHeader_ListElementWithAComma_NeverReadsAsAnotherValue()
    {
        using var response = await AsAsync(With("g@example.com", ("tenant", new[] { "acme", "x,globex" })), "/auth");

        Assert.That(response.Headers.GetValues(TenantHeader).Single().Split(','), Is.EqualTo(new[] { "acme" }));
    }

    [Test]
    public async Task ClaimHeader_SingleStringWithAComma_PassedAsIs()
    {
        using var response = await AsAsync(With("g@example.com", ("tenant", "Acme, Inc.")), "/auth");

        Assert.That(response.Headers.GetValues(TenantHeader).Single(), Is.EqualTo("Acme, Inc."));
    }

    [Test]
    public async Task RouteRules_NarrowTheConfiguredOnesNeverWiden()
    {
        await using var restricted = await StartReplicaAsync(new Dictionary<string, string> { ["ALLOWED_USER_DOMAINS"] = "allowed.com" });
        using var client = new ForwardAuthClient();

        using var outsider = await client.AuthAsync(restricted, "GET", "/api", Attack.Bearer(Provider.Mint(With("a@evil.com"), "at+jwt")), "/auth?allowedUserDomains=evil.com");
        using var outsiderAsUser = await client.AuthAsync(restricted, "GET", "/api", Attack.Bearer(Provider.Mint(With("a@evil.com"), "at+jwt")), "/auth?allowedUsers=a@evil.com");
        using var insider = await client.AuthAsync(restricted, "GET", "/api", Attack.Bearer(Provider.Mint(With("a@allowed.com"), "at+jwt")), "/auth?allowedUserDomains=evil.com");

        Assert.That(outsider.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "a route rule cannot admit what the configuration refuses");
        Assert.That(outsiderAsUser.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(insider.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "both rule sets must pass");
    }

    [TestCase("/admin-only/x?allowedRolesAndGroups=users")]
    [TestCase("/admin-only/x?allowedUsers=bob@example.com")]
    [TestCase("/admin-only?allowedRolesAndGroups=users&allowedRolesAndGroups=admins")]
    public async Task ThroughCaddy_ClientQueryOnARuledRoute_CannotWidenIt(string path)
    {
        using var bob = await Attack.LoggedInThroughCaddyAsync("bob");

        using var response = await bob.GetAsync(SiteUrl + path);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task ThroughCaddy_ClientQueryOnAnOpenRoute_OnlyNarrowsItsOwnAccess()
    {
        using var bob = await Attack.LoggedInThroughCaddyAsync("bob");

        using var narrowed = await bob.GetAsync(SiteUrl + "/page?allowedRolesAndGroups=admins");
        using var plain = await bob.GetAsync(SiteUrl + "/page");

        Assert.That(narrowed.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "Caddy passes the client's query to /auth: it can only restrict");
        Assert.That(plain.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task ThroughCaddy_RuledRoute_AdminAllowedUserDenied()
    {
        using var alice = await Attack.LoggedInThroughCaddyAsync("alice");
        using var bob = await Attack.LoggedInThroughCaddyAsync("bob");

        using var aliceResponse = await alice.GetAsync(SiteUrl + "/admin-only/x?allowedRolesAndGroups=nobody");
        using var bobResponse = await bob.GetAsync(SiteUrl + "/admin-only/x");

        Assert.That(aliceResponse.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the route's own query replaces the client's");
        Assert.That(bobResponse.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }
}
