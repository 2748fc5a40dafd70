using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace ForwardAuth.Tests.Fuzzing;

/// <summary>
/// A seeded randomized run: the seed is fixed (or taken from <c>FUZZ_SEED</c>) and printed with the input count and
/// the time taken, and a failure names the seed and the iteration, so any failure reproduces exactly.
/// </summary>
internal static class Fuzz
{
    public const int DefaultSeed = 20_260_501;
    public const int Inputs = 100_000;

    // One box per run, flowing into its checks: a static string would mix up the inputs of runs that overlap.
    private static readonly AsyncLocal<StrongBox<string>> CurrentInput = new();

    /// <summary>
    /// The input under test, set by the check before it calls the target: printed with a crash, because minted material
    /// (AES nonces, session handles, token times) is fresh on every run and only the mutations follow the seed.
    /// </summary>
    public static string Input
    {
        get => CurrentInput.Value?.Value ?? "";
        set => (CurrentInput.Value ?? throw new InvalidOperationException("Fuzz.Input is set by a check that Fuzz.RunAsync runs")).Value = value;
    }

    public static int Seed => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s)
        ? s
        : DefaultSeed;

    /// <summary>
    /// Runs <paramref name="check"/> for <paramref name="count"/> inputs, each from its own generator seeded with
    /// (seed, iteration) — so one failing iteration can be rerun alone. Returns how many inputs ran.
    /// </summary>
    public static async Task<int> RunAsync(string target, Func<Random, int, Task> check, int count = Inputs)
    {
        var seed = Seed;
        TestContext.Progress.WriteLine($"fuzz {target}: FUZZ_SEED={seed.ToString(CultureInfo.InvariantCulture)}, {count.ToString(CultureInfo.InvariantCulture)} inputs");
        var watch = Stopwatch.StartNew();
        CurrentInput.Value = new StrongBox<string>("");
        for (var i = 0; i < count; i++)
        {
            var random = new Random(unchecked((seed * 1_000_003) + (i * 7919) + StableHash(target)));
            Input = "";
            try
            {
                await check(random, i);
            }
            catch (Exception e) when (e is not AssertionException and not MultipleAssertException)
            {
                Assert.Fail($"fuzz {target}: FUZZ_SEED={seed}, iteration {i}: crashed with {e.GetType().Name}: {e.Message}\ninput: {Input}\n{e.StackTrace}");
            }
        }

        TestContext.Progress.WriteLine($"fuzz {target}: {count.ToString(CultureInfo.InvariantCulture)} inputs in {watch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
        return count;
    }

    // string.GetHashCode is randomized per process: a run must reproduce on any machine.
    private static int StableHash(string s) => s.Aggregate(17, (h, c) => unchecked((h * 31) + c));

    public static T Pick<T>(this Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    public static bool Chance(this Random random, double p) => random.NextDouble() < p;

    // Characters that break parsers: separators, encodings, controls, whitespace of every kind, look-alikes.
    private static readonly string Interesting =
        "/\\?#%@:;.,=&+*~'\"<>[]{}()|^` \t\r\n\0\u0001\u0007\u000b\u000c\u001b\u007f\u0085\u00a0\u00ff\u0130\u0131\u017f\u200b\u2028\u2029\u3002\ufeff\uff0e\uff0f\ud800\udfff\u212a";

    private static readonly string[] Fragments =
    [
        "/", "//", "/./", "/../", "..", ".", "%2e", "%2E%2E", "%2f", "%2F", "%5c", "%252e", "%25", "%00", "%0d%0a", "%09", "%20", "%", "%zz",
        ";", ";x=1", "?", "#", "@", "public", "admin", "oauth2", "callback", "logout", "start", "rd=", "state=", "code=", "http:", "https://",
        "evil.example", "app.test", "xn--", "xn--zz", "[::1]", ":80", "javascript:", "data:", "\\", "\r\n", "\0", " ", "\t", "\u00a0", "\u2028", "ｐ", "\u0430",
    ];

    /// <summary>A string made of fragments, interesting characters and printable ASCII, up to <paramref name="maxLength"/>.</summary>
    public static string Text(this Random random, int maxLength = 64)
    {
        var length = random.Chance(0.02) ? random.Next(maxLength, maxLength * 40) : random.Next(0, maxLength);
        var sb = new StringBuilder(length);
        while (sb.Length < length)
        {
            var roll = random.Next(10);
            sb.Append(roll switch
            {
                < 4 => random.Pick(Fragments),
                < 6 => Interesting[random.Next(Interesting.Length)].ToString(),
                < 9 => ((char)random.Next(0x21, 0x7f)).ToString(),
                _ => ((char)random.Next(0, 0x3000)).ToString(),
            });
        }

        return sb.ToString();
    }

    /// <summary>A path-like string: usually starts with '/', built from path fragments.</summary>
    public static string PathLike(this Random random)
    {
        var sb = new StringBuilder(random.Chance(0.9) ? "/" : "");
        var parts = random.Next(0, 8);
        for (var i = 0; i < parts; i++)
        {
            sb.Append(random.Next(4) switch
            {
                0 => random.Pick(Fragments),
                1 => "public",
                2 => random.Text(8),
                _ => "/",
            });
        }

        return sb.ToString();
    }

    /// <summary>One character of <paramref name="s"/> changed, inserted or removed (or a slice cut out).</summary>
    public static string Mutate(this Random random, string s, string alphabet)
    {
        if (s.Length == 0)
        {
            return alphabet[random.Next(alphabet.Length)].ToString();
        }

        var i = random.Next(s.Length);
        return random.Next(6) switch
        {
            0 => s[..i] + alphabet[random.Next(alphabet.Length)] + s[(i + 1)..],
            1 => s[..i] + alphabet[random.Next(alphabet.Length)] + s[i..],
            2 => s[..i] + s[(i + 1)..],
            3 => s[..i],
            4 => s[..i] + s[random.Next(i, s.Length)..],
            _ => s + alphabet[random.Next(alphabet.Length)],
        };
    }
}
