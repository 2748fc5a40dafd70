using System.Net;

namespace Harness;

/// <summary>
/// <c>login</c>: logs in <c>--users</c> users (<c>PREFIX0</c>…; the provider puts them in no group) through the real
/// flow and writes one session cookie value a line. With <c>--bearer</c>, the instance must pass the session's access
/// token on (<c>PASS_AUTHORIZATION_HEADER=true</c>): each user's JWT access token is written there, one a line.
/// </summary>
internal static class Logins
{
    public static async Task<int> RunAsync(Args args)
    {
        var forwardAuth = args.Get("fa");
        var users = args.Int("users");
        var prefix = args.Optional("prefix") ?? "user";
        var bearerFile = args.Optional("bearer");
        var cookies = new string[users];
        var bearers = new string[users];
        var next = -1;
        var started = DateTime.UtcNow;
        var workers = Enumerable.Range(0, args.Int("concurrency", 8)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < users)
            {
                using var browser = new Browser();
                cookies[i] = await browser.LoginAsync(forwardAuth, prefix + i);
                if (bearerFile is null)
                {
                    continue;
                }

                using var allowed = await browser.AuthAsync(forwardAuth, "/");
                var authorization = allowed.StatusCode == HttpStatusCode.OK && allowed.Headers.TryGetValues("Authorization", out var values) ? values.First() : "";
                if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal) || authorization.Count(c => c == '.') != 2)
                {
                    throw new HarnessException("no JWT access token passed on for " + prefix + i + " (PASS_AUTHORIZATION_HEADER and ACCESS_TOKEN_RESOURCE set?)");
                }

                bearers[i] = authorization["Bearer ".Length..];
            }
        });
        await Task.WhenAll(workers);
        await File.WriteAllLinesAsync(args.Get("cookies"), cookies);
        if (bearerFile is not null)
        {
            await File.WriteAllLinesAsync(bearerFile, bearers);
        }

        Console.WriteLine($"  logged in {users} users through {forwardAuth} in {(DateTime.UtcNow - started).TotalSeconds:0.0}s" +
            (bearerFile is null ? "" : " (with their bearer tokens)"));
        return 0;
    }
}
