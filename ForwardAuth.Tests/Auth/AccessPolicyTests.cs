using ForwardAuth.Auth;
using ForwardAuth.Oidc;

namespace ForwardAuth.Tests.Auth;

public class AccessPolicyTests
{
    private static UserIdentity User(string? email, params string[] groups) =>
        new("sub-1", email ?? "sub-1", email, null, groups, new Dictionary<string, string>());

    private static PolicyRules Rules(string[]? users = null, string[]? domains = null, string[]? groups = null) =>
        new(users ?? [], domains ?? [], groups ?? []);

    [Test]
    public void Allows_NoRules_AnyAuthenticatedUser() =>
        Assert.That(AccessPolicy.Allows(User("x@y.z"), PolicyRules.None), Is.True);

    [TestCase("alice@example.com", true)]
    [TestCase("ALICE@Example.COM", true)]
    [TestCase("mallory@example.com", false)]
    public void Allows_AllowedUsers_CaseInsensitive(string email, bool expected) =>
        Assert.That(AccessPolicy.Allows(User(email), Rules(users: ["alice@example.com"])), Is.EqualTo(expected));

    [TestCase("bob@allowed.com", true)]
    [TestCase("bob@ALLOWED.com", true)]
    [TestCase("a@evil.com@allowed.com", false)]
    [TestCase("bob@sub.allowed.com", false)]
    [TestCase("bob@allowed.com.", false)]
    [TestCase("bob@allowed.com.evil.com", false)]
    [TestCase("bob@notallowed.com", false)]
    [TestCase("allowed.com", false)]
    [TestCase("bob@", false)]
    [TestCase("bob@allowed.com ", false)]
    [TestCase("bob@allowed\u0441om", false)]
    public void Allows_AllowedUserDomains_ExactDomainOnly(string email, bool expected) =>
        Assert.That(AccessPolicy.Allows(User(email), Rules(domains: ["allowed.com"])), Is.EqualTo(expected));

    [Test]
    public void Allows_UsersOrDomains_EitherListAdmits()
    {
        var rules = Rules(users: ["guest@other.org"], domains: ["allowed.com"]);

        Assert.Multiple(() =>
        {
            Assert.That(AccessPolicy.Allows(User("guest@other.org"), rules), Is.True);
            Assert.That(AccessPolicy.Allows(User("staff@allowed.com"), rules), Is.True);
            Assert.That(AccessPolicy.Allows(User("stranger@other.org"), rules), Is.False);
        });
    }

    [Test]
    public void Allows_Groups_AnyMatchRequiredOnTopOfUserRules()
    {
        var rules = Rules(domains: ["allowed.com"], groups: ["admins", "ops"]);

        Assert.Multiple(() =>
        {
            Assert.That(AccessPolicy.Allows(User("a@allowed.com", "users", "ops"), rules), Is.True);
            Assert.That(AccessPolicy.Allows(User("a@allowed.com", "users"), rules), Is.False);
            Assert.That(AccessPolicy.Allows(User("a@other.com", "admins"), rules), Is.False);
            Assert.That(AccessPolicy.Allows(User("a@allowed.com", "Admins"), rules), Is.False, "group names are exact");
        });
    }

    [Test]
    public void Allows_UnknownGroups_NeverSatisfyAGroupRule()
    {
        var unknown = new UserIdentity("s", "a@allowed.com", "a@allowed.com", null, null, new Dictionary<string, string>());

        Assert.Multiple(() =>
        {
            Assert.That(AccessPolicy.Allows(unknown, Rules(groups: ["admins"])), Is.False);
            Assert.That(AccessPolicy.Allows(unknown, Rules(domains: ["allowed.com"])), Is.True);
        });
    }

    [Test]
    public void Allows_RouteRules_NarrowTheConfiguredOnes()
    {
        var configured = Rules(domains: ["example.com"]);
        var route = Rules(groups: ["admins"]);

        Assert.Multiple(() =>
        {
            Assert.That(AccessPolicy.Allows(User("alice@example.com", "admins"), configured, route), Is.True);
            Assert.That(AccessPolicy.Allows(User("bob@example.com", "users"), configured, route), Is.False);
            Assert.That(AccessPolicy.Allows(User("eve@evil.com", "admins"), configured, route), Is.False);
        });
    }

    [Test]
    public void Allows_UnverifiedEmail_HasNoDomain()
    {
        var noEmail = new UserIdentity("sub-9", "sub-9", null, null, [], new Dictionary<string, string>());

        Assert.That(AccessPolicy.Allows(noEmail, Rules(domains: ["example.com"])), Is.False);
    }
}
