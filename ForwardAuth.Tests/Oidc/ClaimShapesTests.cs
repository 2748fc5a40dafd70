using System.Text.Json;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;

namespace ForwardAuth.Tests.Oidc;

/// <summary>
/// Group and role claims as providers really shape them: Zitadel's role map, Auth0's namespaced (URL) claims,
/// <c>cognito:groups</c>, a path through a claim whose own name has dots, and Entra ID's group overage.
/// </summary>
[TestFixture]
[Category("Fast")]
public class ClaimShapesTests
{
    private const string Zitadel = "urn:zitadel:iam:org:project:roles";

    private static ForwardAuthOptions Options(params (string Name, string Value)[] extra)
    {
        var env = new Dictionary<string, string>
        {
            ["PROVIDER_URL"] = "https://id.example.com", ["CLIENT_ID"] = "c", ["CLIENT_SECRET"] = "s",
            ["SESSION_ENCRYPTION_KEY"] = "0123456789abcdef0123456789abcdef",
        };
        foreach (var (name, value) in extra)
        {
            env[name] = value;
        }

        return ConfigurationLoader.Load([], n => env.GetValueOrDefault(n));
    }

    private static UserIdentity From(string json, ForwardAuthOptions options) =>
        UserIdentity.FromClaims(JsonDocument.Parse(json).RootElement, options)!;

    private static bool Overage(string json) => GroupOverage.In(JsonDocument.Parse(json).RootElement);

    [Test]
    public void RoleMap_KeysAreTheRoles()
    {
        var id = From("""{"sub":"u","urn:zitadel:iam:org:project:roles":{"admin":{"2904":"example.com"},"user":{"2904":"example.com"}}}""",
            Options(("ROLE_CLAIM_NAME", Zitadel)));

        Assert.That(id.Groups, Is.EqualTo(new[] { "admin", "user" }));
    }

    [Test]
    public void RoleMap_Empty_NoRoles() =>
        Assert.That(From("""{"sub":"u","urn:zitadel:iam:org:project:roles":{}}""", Options(("ROLE_CLAIM_NAME", Zitadel))).Groups, Is.Empty);

    [Test]
    public void RoleMap_AsGroupClaimToo_KeysMergedWithRoles()
    {
        var id = From("""{"sub":"u","roles":["r"],"groups":{"g1":true,"g2":{}}}""", Options());

        Assert.That(id.Groups, Is.EquivalentTo(new[] { "g1", "g2", "r" }));
    }

    [TestCase("""{"roles":["admin"]}""")]
    [TestCase("""{"admin":"yes"}""")]
    [TestCase("""{"admin":{},"user":["x"]}""")]
    public void ObjectThatIsNoRoleMap_NoRoles(string claim)
    {
        var id = From("""{"sub":"u","realm_access":""" + claim + "}", Options(("ROLE_CLAIM_NAME", "realm_access")));

        Assert.That(id.Groups, Is.Empty, "a mistaken claim name (realm_access instead of realm_access.roles) grants nothing");
    }

    [Test]
    public void NamespacedUrlClaim_WholeNameWithDots_Found()
    {
        var id = From("""{"sub":"u","https://example.com/roles":["admin"]}""", Options(("ROLE_CLAIM_NAME", "https://example.com/roles")));

        Assert.That(id.Groups, Is.EqualTo(new[] { "admin" }));
    }

    [Test]
    public void NamespacedUrlClaim_PathIntoIt_DottedNameThenNestedKey()
    {
        var id = From("""{"sub":"u","https://example.com/app_metadata":{"roles":["admin","ops"]}}""",
            Options(("ROLE_CLAIM_NAME", "https://example.com/app_metadata.roles")));

        Assert.That(id.Groups, Is.EqualTo(new[] { "admin", "ops" }));
    }

    [Test]
    public void DottedPath_PlainNesting_StillFollowed()
    {
        var id = From("""{"sub":"u","resource_access":{"my.app":{"roles":["editor"]}}}""",
            Options(("ROLE_CLAIM_NAME", "resource_access.my.app.roles")));

        Assert.That(id.Groups, Is.EqualTo(new[] { "editor" }), "a client id with a dot, inside Keycloak's resource_access");
    }

    [Test]
    public void DottedPath_WholeNamePreferredOverNesting()
    {
        var id = From("""{"sub":"u","a.b":["whole"],"a":{"b":["nested"]}}""", Options(("ROLE_CLAIM_NAME", "a.b")));

        Assert.That(id.Groups, Is.EqualTo(new[] { "whole" }));
    }

    [Test]
    public void CognitoGroups_ColonInName_Found()
    {
        var id = From("""{"sub":"u","cognito:groups":["admins"]}""", Options(("GROUP_CLAIM_NAME", "cognito:groups")));

        Assert.That(id.Groups, Is.EqualTo(new[] { "admins" }));
    }

    [Test]
    public void NamespacedClaim_AsClaimHeader()
    {
        var id = From("""{"sub":"u","https://example.com/tenant":"t-1"}""", Options(("CLAIM_HEADERS", "X-Tenant=https://example.com/tenant")));

        Assert.That(id.ClaimValues["https://example.com/tenant"], Is.EqualTo("t-1"));
    }

    [TestCase("""{"sub":"u","_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https://graph.windows.net/x"}}}""", true)]
    [TestCase("""{"sub":"u","hasgroups":true}""", true)]
    [TestCase("""{"sub":"u","hasgroups":"true"}""", true)]
    [TestCase("""{"sub":"u","hasgroups":false}""", false)]
    [TestCase("""{"sub":"u","_claim_names":{"address":"src1"}}""", false)]
    [TestCase("""{"sub":"u","groups":["g"]}""", false)]
    public void GroupOverage_Detected(string json, bool expected) => Assert.That(Overage(json), Is.EqualTo(expected));

    [Test]
    public void GroupOverage_NoGroupsGranted()
    {
        var id = From("""{"sub":"u","_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https://graph.windows.net/x"}}}""", Options());

        Assert.That(id.Groups, Is.Empty, "the pointer to Graph is never taken for groups");
    }
}
