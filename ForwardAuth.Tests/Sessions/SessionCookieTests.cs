using System.Buffers.Text;
using ForwardAuth.Configuration;
using ForwardAuth.Sessions;

namespace ForwardAuth.Tests.Sessions;

public class SessionCookieTests
{
    private const string KeyA = "key-a-0123456789abcdef0123456789abcdef";
    private const string KeyB = "key-b-0123456789abcdef0123456789abcdef";

    private static SessionCookie Cookie(params string[] keys)
    {
        var env = new Dictionary<string, string>
        {
            ["PROVIDER_URL"] = "https://id.example.com",
            ["CLIENT_ID"] = "c",
            ["CLIENT_SECRET"] = "s",
            ["SESSION_ENCRYPTION_KEY"] = string.Join(',', keys),
        };
        return new SessionCookie(ConfigurationLoader.Load([], n => env.GetValueOrDefault(n)));
    }

    private static CookiePayload Payload(IReadOnlyList<string>? groups = null) =>
        new("handle-0123456789", "sub-1", "alice@example.com", "alice@example.com", "alice", groups ?? ["admins"], 1_700_000_000, 1_700_086_400);

    [Test]
    public void Seal_ThenOpen_RoundTrips()
    {
        var cookie = Cookie(KeyA);

        var opened = cookie.TryOpen(cookie.Seal(Payload()));

        Assert.That(opened, Is.EqualTo(Payload()).Using<CookiePayload>((a, b) => a.Handle == b.Handle && a.Subject == b.Subject && a.Groups!.SequenceEqual(b.Groups!)));
    }

    [Test]
    public void Seal_SamePayloadTwice_DiffersEachTime()
    {
        var cookie = Cookie(KeyA);

        var first = cookie.Seal(Payload());
        var second = cookie.Seal(Payload());

        Assert.That(second, Is.Not.EqualTo(first));
    }

    [Test]
    public void Seal_Value_RevealsNoClaim()
    {
        var value = Cookie(KeyA).Seal(Payload());
        var raw = System.Text.Encoding.Latin1.GetString(Base64Url.DecodeFromChars(value));

        Assert.That(raw, Does.Not.Contain("alice").And.Not.Contain("admins").And.Not.Contain("handle"));
    }

    [Test]
    public void TryOpen_EveryFlippedBit_Refused()
    {
        var cookie = Cookie(KeyA);
        var bytes = Base64Url.DecodeFromChars(cookie.Seal(Payload()));

        for (var i = 0; i < bytes.Length * 8; i += 7)
        {
            var tampered = (byte[])bytes.Clone();
            tampered[i / 8] ^= (byte)(1 << (i % 8));
            Assert.That(cookie.TryOpen(Base64Url.EncodeToString(tampered)), Is.Null, $"bit {i}");
        }
    }

    [Test]
    public void TryOpen_Truncated_Refused()
    {
        var cookie = Cookie(KeyA);
        var value = cookie.Seal(Payload());

        foreach (var length in new[] { 0, 1, 10, value.Length / 2, value.Length - 1 })
        {
            Assert.That(cookie.TryOpen(value[..length]), Is.Null, $"length {length}");
        }
    }

    [TestCase("not base64 !!")]
    [TestCase("AAAA")]
    [TestCase("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")]
    public void TryOpen_Garbage_Refused(string value) => Assert.That(Cookie(KeyA).TryOpen(value), Is.Null);

    [Test]
    public void TryOpen_OtherDeploymentsKey_Refused() =>
        Assert.That(Cookie(KeyB).TryOpen(Cookie(KeyA).Seal(Payload())), Is.Null);

    [Test]
    public void TryOpen_AfterRotation_OldCookiesStillOpenNewOnesUseNewKey()
    {
        var before = Cookie(KeyA).Seal(Payload());
        var rotated = Cookie(KeyB, KeyA);
        var after = rotated.Seal(Payload());

        Assert.Multiple(() =>
        {
            Assert.That(rotated.TryOpen(before), Is.Not.Null, "old cookie opens after rotation");
            Assert.That(Cookie(KeyB).TryOpen(after), Is.Not.Null, "new cookies are sealed with the first key");
            Assert.That(Cookie(KeyA).TryOpen(after), Is.Null);
        });
    }

    [Test]
    public void Seal_HugeGroups_KeepsHandleAndSubjectOnlyUnderFourKilobytes()
    {
        var cookie = Cookie(KeyA);
        var groups = Enumerable.Range(0, 400).Select(i => $"group-with-a-long-name-{i}").ToList();

        var value = cookie.Seal(Payload(groups));
        var opened = cookie.TryOpen(value)!;

        Assert.Multiple(() =>
        {
            Assert.That(value, Has.Length.LessThan(4000));
            Assert.That(opened.Handle, Is.EqualTo("handle-0123456789"));
            Assert.That(opened.Subject, Is.EqualTo("sub-1"));
            Assert.That(opened.Groups, Is.Null, "groups are unknown, not empty");
        });
    }

    [Test]
    public void Seal_TypicalSession_IsAFewHundredBytes() =>
        Assert.That(Cookie(KeyA).Seal(Payload()), Has.Length.LessThan(400));
}
