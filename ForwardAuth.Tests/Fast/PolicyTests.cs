using ForwardAuth.Auth;
using ForwardAuth.Tests.Fast.Support;

namespace ForwardAuth.Tests.Fast;

/// <summary>
/// Who may pass, decided end to end for a session and for a bearer token: the configured rules (<c>allowedUsers</c>,
/// <c>allowedUserDomains</c>, <c>allowedRolesAndGroups</c>) and a route's own rules from the forwardAuth address. The
/// user is <c>alice</c>, <c>alice@example.com</c> (verified), in group <c>staff</c>.
/// </summary>
[TestFixture]
[Category("Fast")]
public class PolicyTests
{
    // users | domains | groups, each a comma-separated list ("" = none).
    private static readonly object[] Cases =
    [
        new object[] { "", "", "", "", "", "", true },
        new object[] { "alice@example.com", "", "", "", "", "", true },
        new object[] { "ALICE@EXAMPLE.COM", "", "", "", "", "", true },
        new object[] { "bob@example.com", "", "", "", "", "", false },
        new object[] { "bob@example.com,alice@example.com", "", "", "", "", "", true },
        new object[] { "", "example.com", "", "", "", "", true },
        new object[] { "", "EXAMPLE.com", "", "", "", "", true },
        new object[] { "", "other.com", "", "", "", "", false },
        new object[] { "", "sub.example.com", "", "", "", "", false },
        new object[] { "", "ample.com", "", "", "", "", false },
        new object[] { "bob@example.com", "example.com", "", "", "", "", true },
        new object[] { "bob@example.com", "other.com", "", "", "", "", false },
        new object[] { "", "", "staff", "", "", "", true },
        new object[] { "", "", "admins", "", "", "", false },
        new object[] { "", "", "admins,staff", "", "", "", true },
        new object[] { "", "", "Staff", "", "", "", false },
        new object[] { "alice@example.com", "", "admins", "", "", "", false },
        new object[] { "alice@example.com", "", "staff", "", "", "", true },
        new object[] { "", "", "", "alice@example.com", "", "", true },
        new object[] { "", "", "", "bob@example.com", "", "", false },
        new object[] { "", "", "", "", "example.com", "", true },
        new object[] { "", "", "", "", "other.com", "", false },
        new object[] { "", "", "", "", "", "staff", true },
        new object[] { "", "", "", "", "", "admins", false },
        new object[] { "alice@example.com", "", "", "", "", "admins", false },
        new object[] { "", "example.com", "", "bob@example.com", "", "", false },
        new object[] { "", "example.com", "", "", "", "staff", true },
        new object[] { "bob@example.com", "", "", "alice@example.com", "", "", false },
        new object[] { "", "", "admins", "", "", "staff", false },
        new object[] { "", "", "staff", "", "", "admins,staff", true },
    ];

    [TestCaseSource(nameof(Cases))]
    public async Task Verify_SessionUnderPolicy_AllowedOrDenied(
        string users, string domains, string groups, string routeUsers, string routeDomains, string routeGroups, bool allowed)
    {
        await using var stack = await Configured(users, domains, groups);
        var cookie = await stack.SignInAsync("alice");

        var outcome = await stack.NavigateAsync("/", cookie, Route(routeUsers, routeDomains, routeGroups));

        AssertDecision(outcome, allowed);
    }

    [TestCaseSource(nameof(Cases))]
    public async Task Verify_BearerUnderPolicy_AllowedOrDenied(
        string users, string domains, string groups, string routeUsers, string routeDomains, string routeGroups, bool allowed)
    {
        await using var stack = await Configured(users, domains, groups);

        var outcome = await stack.BearerAsync(stack.Provider.AccessToken("alice"), route: Route(routeUsers, routeDomains, routeGroups));

        AssertDecision(outcome, allowed);
    }

    [Test]
    public async Task Verify_UnverifiedEmail_DomainRuleDenies()
    {
        await using var stack = await Configured("", "example.com", "");
        var token = stack.Provider.AccessToken("alice", c => c["email_verified"] = false);

        AssertDecision(await stack.BearerAsync(token), allowed: false);
    }

    [Test]
    public async Task Verify_MalformedEmail_DomainRuleDenies()
    {
        await using var stack = await Configured("", "example.com", "");
        var token = stack.Provider.AccessToken("alice", c => c["email"] = "alice@evil.com@example.com");

        AssertDecision(await stack.BearerAsync(token), allowed: false);
    }

    [Test]
    public async Task Verify_RolesClaim_CountsAsGroup()
    {
        await using var stack = await Configured("", "", "editor");
        var token = stack.Provider.AccessToken("alice", c => c["roles"] = new[] { "editor" });

        AssertDecision(await stack.BearerAsync(token), allowed: true);
    }

    [Test]
    public async Task Verify_DeniedUser_403NeverRedirected()
    {
        await using var stack = await Configured("bob@example.com", "", "");
        var cookie = await stack.SignInAsync("alice");

        var outcome = await stack.NavigateAsync("/", cookie);

        Assert.That(outcome, Is.TypeOf<AuthOutcome.Deny>());
        Assert.That(((AuthOutcome.Deny)outcome).Identity.Subject, Is.EqualTo("alice"));
        Assert.That(outcome.DecisionLabel, Is.EqualTo("forbidden"));
    }

    private static Task<FastStack> Configured(string users, string domains, string groups) => FastStack.StartAsync(
        ("ALLOWED_USERS", users), ("ALLOWED_USER_DOMAINS", domains), ("ALLOWED_ROLES_AND_GROUPS", groups));

    private static PolicyRules Route(string users, string domains, string groups) => new(List(users), List(domains), List(groups));

    private static List<string> List(string csv) => [.. csv.Split(',', StringSplitOptions.RemoveEmptyEntries)];

    private static void AssertDecision(AuthOutcome outcome, bool allowed) =>
        Assert.That(outcome, allowed ? Is.TypeOf<AuthOutcome.Allow>() : Is.TypeOf<AuthOutcome.Deny>());
}
