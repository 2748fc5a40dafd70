using ForwardAuth.Oidc;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Oidc;

public class ValidatedTokenCacheTests
{
    private static readonly TokenCheck Valid = new(null, null, null);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    [Test]
    public void Get_WithinTtlAndBeforeExpiry_Cached()
    {
        var cache = new ValidatedTokenCache(_time, TimeSpan.FromMinutes(5));
        cache.Add("token", Valid, _time.GetUtcNow().AddHours(1));

        _time.Advance(TimeSpan.FromMinutes(4));

        Assert.That(cache.Get("token"), Is.SameAs(Valid));
    }

    [Test]
    public void Get_AfterTtl_GoneAlthoughTheTokenIsStillValid()
    {
        var cache = new ValidatedTokenCache(_time, TimeSpan.FromMinutes(5));
        cache.Add("token", Valid, _time.GetUtcNow().AddHours(1));

        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.That(cache.Get("token"), Is.Null);
    }

    [Test]
    public void Get_AfterTheTokensExpiry_GoneAlthoughTheTtlIsLonger()
    {
        var cache = new ValidatedTokenCache(_time, TimeSpan.FromHours(1));
        cache.Add("token", Valid, _time.GetUtcNow().AddSeconds(30));

        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.That(cache.Get("token"), Is.Null, "a cached validation never outlives the token's exp");
    }

    [Test]
    public void Add_Invalid_NeverCached()
    {
        var cache = new ValidatedTokenCache(_time, TimeSpan.FromHours(1));

        cache.Add("forged", TokenCheck.Invalid("bad signature"), _time.GetUtcNow().AddHours(1));

        Assert.That(cache.Get("forged"), Is.Null);
    }

    [Test]
    public void Add_BeyondCapacity_StaysBounded()
    {
        var cache = new ValidatedTokenCache(_time, TimeSpan.FromHours(1), maxEntries: 10);
        for (var i = 0; i < 25; i++)
        {
            cache.Add($"t{i}", Valid, _time.GetUtcNow().AddHours(1));
        }

        Assert.That(Enumerable.Range(0, 25).Count(i => cache.Get($"t{i}") is not null), Is.LessThanOrEqualTo(10));
    }
}
