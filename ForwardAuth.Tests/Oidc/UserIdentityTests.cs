using System.Text.Json;
using ForwardAuth.Configuration;
using ForwardAuth.Oidc;

namespace ForwardAuth.Tests.Oidc;

public class UserIdentityTests
{
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

    private static UserIdentity? From(string json, ForwardAuthOptions? options = null) =>
        UserIdentity.FromClaims(JsonDocument.Parse(json).RootElement, options ?? Options());

    [Test]
    public void FromClaims_EmailIdentifier_UsesEmail()
    {
        var id = From("""{"sub":"u1","email":"a@example.com","preferred_username":"a","groups":["g1","g2"]}""")!;

        Assert.Multiple(() =>
        {
            Assert.That(id.Identifier, Is.EqualTo("a@example.com"));
            Assert.That(id.PreferredUsername, Is.EqualTo("a"));
            Assert.That(id.Groups, Is.EqualTo(new[] { "g1", "g2" }));
        });
    }

    [Test]
    public void FromClaims_EmailNotVerified_EmailIgnoredIdentifierFallsBackToSub()
    {
        var id = From("""{"sub":"u1","email":"a@example.com","email_verified":false}""")!;

        Assert.That(id.Email, Is.Null);
        Assert.That(id.Identifier, Is.EqualTo("u1"));
    }

    [Test]
    public void FromClaims_NoEmail_IdentifierIsSub() =>
        Assert.That(From("""{"sub":"service-account-7"}""")!.Identifier, Is.EqualTo("service-account-7"));

    [Test]
    public void FromClaims_NoSubject_NoIdentity() => Assert.That(From("""{"email":"a@example.com"}"""), Is.Null);

    [Test]
    public void FromClaims_NestedRoleClaim_FollowsDottedPath()
    {
        var options = Options(("ROLE_CLAIM_NAME", "realm_access.roles"), ("GROUP_CLAIM_NAME", "resource_access.app.roles"));

        var id = From("""{"sub":"u","realm_access":{"roles":["admin"]},"resource_access":{"app":{"roles":["editor"]}}}""", options)!;

        Assert.That(id.Groups, Is.EquivalentTo(new[] { "admin", "editor" }));
    }

    [TestCase("""{"sub":"u","groups":"single"}""", new[] { "single" })]
    [TestCase("""{"sub":"u","groups":[]}""", new string[0])]
    [TestCase("""{"sub":"u"}""", new string[0])]
    [TestCase("""{"sub":"u","groups":[1,"two",{"x":1},null]}""", new[] { "1", "two" })]
    [TestCase("""{"sub":"u","groups":{"not":"a list"}}""", new string[0])]
    public void FromClaims_GroupShapes_ReadAsStrings(string json, string[] expected) =>
        Assert.That(From(json)!.Groups, Is.EqualTo(expected));

    [Test]
    public void FromClaims_HugeGroupList_Bounded()
    {
        var groups = string.Join(',', Enumerable.Range(0, 5000).Select(i => $"\"g{i}\""));

        Assert.That(From($$"""{"sub":"u","groups":[{{groups}}]}""")!.Groups, Has.Count.EqualTo(1000));
    }

    [Test]
    public void FromClaims_SubIdentifierClaim_UsesSub() =>
        Assert.That(From("""{"sub":"u1","email":"a@example.com"}""", Options(("USER_IDENTIFIER_CLAIM", "sub")))!.Identifier, Is.EqualTo("u1"));

    [Test]
    public void FromClaims_ClaimHeaders_ValuesCollected()
    {
        var id = From("""{"sub":"u","tenant":{"id":"t-42"},"team":["a","b"]}""", Options(("CLAIM_HEADERS", "X-Tenant=tenant.id,X-Team=team")))!;

        Assert.That(id.ClaimValues["tenant.id"], Is.EqualTo("t-42"));
        Assert.That(id.ClaimValues["team"], Is.EqualTo("a,b"));
    }

    [Test]
    public void FromClaims_CommaJoinedGroupString_NoSeparator_OneValueAsBefore() =>
        Assert.That(From("""{"sub":"u1","groups":"admins,staff"}""")!.Groups, Is.EqualTo(new[] { "admins,staff" }));

    [Test]
    public void FromClaims_CommaJoinedGroupString_WithSeparator_SplitIntoGroups()
    {
        var options = Options(("CLAIM_SEPARATOR", ","), ("ROLE_CLAIM_NAME", "roles"));

        var id = From("""{"sub":"u1","groups":"admins, staff,,","roles":"r1,r2"}""", options)!;

        Assert.That(id.Groups, Is.EqualTo(new[] { "admins", "staff", "r1", "r2" }));
    }

    [Test]
    public void FromClaims_GroupArray_WithSeparator_ElementsNeverSplit()
    {
        var id = From("""{"sub":"u1","groups":["a,b","c"]}""", Options(("CLAIM_SEPARATOR", ",")))!;

        Assert.That(id.Groups, Is.EqualTo(new[] { "a,b", "c" }));
    }
}
