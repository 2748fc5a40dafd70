using System.Buffers.Text;
using System.Text;
using ForwardAuth.Auth;
using ForwardAuth.Cache;
using ForwardAuth.Configuration;
using ForwardAuth.Endpoints;
using ForwardAuth.Oidc;
using ForwardAuth.Sessions;
using ForwardAuth.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace ForwardAuth.Tests.Fuzzing;

/// <summary>
/// The cookie decoder — the <c>Cookie</c> header reader, the AES-GCM envelope and the payload — and the session lookup
/// behind it, on mutated and random cookies: nothing throws, and nothing opens or resolves to a session unless its bytes
/// are exactly those of a cookie this deployment sealed.
/// </summary>
[TestFixture]
public class SessionCookieFuzzTests
{
    private const string Key = "fuzz-session-key-0123456789abcdef0123456789";
    private const string Base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private const string Noise = Base64UrlAlphabet + "+/=.;, \t\"%\\\0\u00e9";

    private static ForwardAuthOptions Options(string key) => ConfigurationLoader.Load([], n => n switch
    {
        "PROVIDER_URL" => "https://id.example", "CLIENT_ID" => "c", "CLIENT_SECRET" => "s", "SESSION_ENCRYPTION_KEY" => key, _ => null,
    });

    [Test]
    public async Task OpenAndResolve_MutatedAndRandomCookies_OnlyMintedBytesEverOpen()
    {
        var options = Options(Key);
        var cookie = new SessionCookie(options);
        var foreign = new SessionCookie(Options("another-deployments-key-0123456789abcdef"));
        var store = SessionStores.Over(new MemoryCacheBackend(TimeProvider.System), options, TimeProvider.System, cookie);
        var now = DateTimeOffset.UtcNow;
        var minted = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var groups = i % 4 == 3 ? Enumerable.Range(0, 400).Select(g => "group-with-a-long-name-" + g).ToList() : ["admins", "users"];
            minted.Add(await store.CreateAsync(
                new SessionRecord { Identity = new UserIdentity("user-" + i, $"user{i}@example.com", null, null, groups, new Dictionary<string, string>()), IssuedAt = now, ExpiresAt = now.AddHours(1) },
                CancellationToken.None));
        }

        var mintedBytes = minted.Select(m => Base64Url.DecodeFromChars(m)).ToList();
        var opened = 0;
        var ran = await Fuzz.RunAsync("session-cookie", async (r, i) =>
        {
            var original = r.Pick(minted);
            var value = Candidate(r, original, foreign);
            var header = r.Chance(0.3) ? CookieHeader(r, value) : $"{cookie.Name}={value}";
            var headers = new HeaderDictionary { ["Cookie"] = header };
            Fuzz.Input = header;

            var read = RequestCookies.Read(headers, cookie.Name);
            var payload = cookie.TryOpen(read);
            var session = await store.ResolveAsync(read, CancellationToken.None);

            var genuine = read is not null && Base64Url.IsValid(read) && mintedBytes.Any(m => m.AsSpan().SequenceEqual(Base64Url.DecodeFromChars(read)));
            if ((payload is not null || session is not null) && !genuine)
            {
                Assert.Fail($"iteration {i}: opened a cookie that was never sealed: '{read}'");
            }

            if (genuine && (payload is null || session is null))
            {
                Assert.Fail($"iteration {i}: a genuine cookie did not open");
            }

            if (session is not null)
            {
                opened++;
            }
        });

        TestContext.Progress.WriteLine($"fuzz session-cookie: {opened} genuine cookies opened, {ran - opened} refused");
        Assert.That(ran, Is.EqualTo(Fuzz.Inputs));
        Assert.That(opened, Is.GreaterThan(0), "the control inputs (unchanged cookies) must open");
    }

    private static string Candidate(Random r, string original, SessionCookie foreign)
    {
        switch (r.Next(14))
        {
            case 0:
                return original; // control
            case 1:
            case 2:
            {
                var bytes = Base64Url.DecodeFromChars(original);
                for (var flips = r.Next(1, 4); flips > 0; flips--)
                {
                    var bit = r.Next(bytes.Length * 8);
                    bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                }

                return Base64Url.EncodeToString(bytes);
            }

            case 3:
            case 4:
                return r.Mutate(original, Base64UrlAlphabet);
            case 5:
                return r.Mutate(original, Noise);
            case 6:
                return original[..r.Next(original.Length)];
            case 7:
                return original + new string(Base64UrlAlphabet[r.Next(64)], r.Next(1, 9000));
            case 8:
            {
                var bytes = new byte[r.Next(0, 400)];
                r.NextBytes(bytes);
                if (bytes.Length > 0 && r.Chance(0.5))
                {
                    bytes[0] = 1; // the envelope version, so that the key id is looked at
                }

                return Base64Url.EncodeToString(bytes);
            }

            case 9:
                return r.Text(200);
            case 10:
                return foreign.Seal(new CookiePayload("h-" + r.Next(), "alice", "alice@example.com", null, null, ["admins"], 0, 4_000_000_000));
            case 11:
            {
                // A genuine envelope with its body spliced from another cookie: the tag covers everything.
                var a = Base64Url.DecodeFromChars(original);
                var b = Base64Url.DecodeFromChars(foreign.Seal(new CookiePayload("h", "s", null, null, null, null, 0, 4_000_000_000)));
                var cut = r.Next(1, Math.Min(a.Length, b.Length));
                return Base64Url.EncodeToString([.. a[..cut], .. b[cut..]]);
            }

            case 12:
                return "\"" + original + "\"";
            default:
            {
                // Whitespace and padding a lenient decoder might skip: still the same bytes, or refused.
                var i = r.Next(original.Length);
                return original[..i] + r.Pick([" ", "\t", "=", "==", "\r\n"]) + original[i..];
            }
        }
    }

    private static string CookieHeader(Random r, string value)
    {
        var parts = new List<string> { "_forwardauth_session=" + value };
        for (var n = r.Next(0, 6); n > 0; n--)
        {
            parts.Insert(r.Next(parts.Count + 1), r.Pick(["a=b", "_forwardauth_login_x=" + r.Text(10), "_forwardauth_sessionx=1", " =", ";", r.Text(20), "_forwardauth_session", "=_forwardauth_session=x"]));
        }

        return string.Join(r.Pick(["; ", ";", " ; "]), parts);
    }
}
