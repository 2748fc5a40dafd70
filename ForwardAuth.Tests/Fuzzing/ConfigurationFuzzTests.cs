using System.Globalization;
using System.Text;
using ForwardAuth.Configuration;
using ForwardAuth.Tests.Support;

namespace ForwardAuth.Tests.Fuzzing;

/// <summary>
/// The configuration loader on random environments, command lines and YAML files (valid and broken): it either returns
/// options that satisfy every documented rule or throws <see cref="ConfigurationException"/> — which the process turns
/// into exit code 2 with one message — and that message never contains a secret's value. Any other exception would
/// be a crash at start with a stack trace.
/// </summary>
[TestFixture]
public class ConfigurationFuzzTests
{
    private const string ClientSecret = "client-secret-SENTINEL-7f3a9c";
    private const string SessionKey = "session-key-SENTINEL-0123456789abcdef0123";
    private const string RedisPassword = "redis-password-SENTINEL-55e1";

    private static readonly string[] Secrets = [ClientSecret, SessionKey, RedisPassword];

    private static readonly string[] Integers =
    [
        "0", "1", "-1", "59", "60", "61", "86400", "31536000", "31536001", "2147483647", "2147483648", "-2147483649", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808", "99999999999999999999999", "1e3", "1.5", " 5 ", "0x10", "+7", "٣", "", "five", "1_000",
        "00000000000000000060", "922337203685", "922337203686", "10675199", "-0",
    ];

    private static readonly string[] Booleans = ["true", "false", "TRUE", "yes", "no", "on", "off", "1", "0", "", "maybe", "t", " true"];

    private static readonly string[] Urls =
    [
        "https://id.example.com", "http://id.example.com", "https://id.example.com/realms/x/", "ftp://id.example.com", "//id.example.com",
        "https://user:pass@id.example.com", "https://", "https://[::1]:8443", "id.example.com", "", "https://id.example.com/\u200e",
        "//\u200e", "/\\\u200e", "\\\\\u202c", "https://xn--/", "https://exa mple.com", "javascript:alert(1)", "https://id.example.com:99999",
    ];

    private static readonly string[] Paths =
    [
        "/oauth2/callback", "/", "//x", "/x?y", "/x#y", "x", "", "/x y", "/\\x", "/x/", "/\u0000", "/%2e%2e", "https://auth.example.com/cb",
        "http://auth.example.com/cb?x", "//\u200e", "/\\\u200e",
    ];

    private static readonly string[] Cidrs =
    [
        "10.0.0.0/8", "::1/128", "0.0.0.0/0", "::/0", "1.2.3.4", "1.2.3.4/33", "1.2.3.4/-1", "fe80::1%eth0/64", "not-an-ip", "", "10.0.0.0/8,,",
        "256.0.0.0/8", "::ffff:10.0.0.0/104", "1.2.3.4/32/1",
    ];

    private static readonly string[] Choices = ["memory", "redis", "hybrid", "Hybrid", "local", "closed", "debug", "warning", "client_secret_post", "client_secret_basic", "none", ""];

    private static string Value(Random r, SettingKey key)
    {
        if (r.Chance(0.1))
        {
            return r.Text(key.Kind == SettingKind.List ? 120 : 60);
        }

        var path = key.Path;
        return key.Kind switch
        {
            SettingKind.Integer => r.Pick(Integers),
            SettingKind.Boolean => r.Pick(Booleans),
            SettingKind.List when path == "trustedProxies" => string.Join(r.Pick([",", ", ", ",,"]), Enumerable.Range(0, r.Next(0, 4)).Select(_ => r.Pick(Cidrs))),
            SettingKind.List when path == "sessionEncryptionKey" => r.Pick([SessionKey, SessionKey + "," + SessionKey + "-2", "short", SessionKey + ",short", "", ",", SessionKey + "," + r.Text(40)]),
            SettingKind.List => string.Join(",", Enumerable.Range(0, r.Next(0, 5)).Select(_ => r.Chance(0.5) ? r.PathLike() : r.Text(12))),
            _ when path == "providerURL" => r.Pick(Urls),
            _ when path.EndsWith("URL", StringComparison.Ordinal) || path.EndsWith("URI", StringComparison.Ordinal) => r.Pick(Paths.Concat(Urls).ToArray()),
            _ when path == "clientSecret" => ClientSecret,
            _ when path == "redis.password" => RedisPassword,
            _ when path is "redis.address" => r.Pick(["localhost:6379", "a:1,b:2", "[::1]:6379", ":6379", "host:0", "host:99999", "", "h o s t:1", "host:", "xn--:1"]),
            _ when path.Contains("File", StringComparison.Ordinal) || path == "caCertPath" => r.Pick(["", "/nonexistent/file.pem", "/dev/null", "/etc/hostname", r.Text(20)]),
            _ => r.Chance(0.6) ? r.Pick(Choices) : r.Text(30),
        };
    }

    private static Dictionary<string, string> BaseEnvironment() => new()
    {
        ["PROVIDER_URL"] = "https://id.example.com",
        ["CLIENT_ID"] = "forwardauth",
        ["CLIENT_SECRET"] = ClientSecret,
        ["SESSION_ENCRYPTION_KEY"] = SessionKey,
        ["REDIS_PASSWORD"] = RedisPassword,
    };

    internal static string Yaml(Random r)
    {
        var sb = new StringBuilder();
        if (r.Chance(0.2))
        {
            sb.Append(r.Pick(["spec:\n  plugin:\n    traefikoidc:\n", "plugin:\n  traefikoidc:\n", "traefikoidc:\n"]));
        }

        var indent = sb.Length > 0 ? new string(' ', sb.ToString().Split('\n').Length * 2 - 2) : "";
        for (var n = r.Next(1, 10); n > 0; n--)
        {
            var key = r.Pick(SettingsCatalogue.All);
            var name = key.Path.Contains('.', StringComparison.Ordinal) && r.Chance(0.5) ? key.Path : key.Path.Split('.')[^1];
            sb.Append(indent).Append(r.Chance(0.05) ? r.Text(10) : name).Append(':');
            switch (r.Next(12))
            {
                case 0:
                    sb.Append('\n');
                    foreach (var _ in Enumerable.Range(0, r.Next(0, 4)))
                    {
                        sb.Append(indent).Append("  - ").Append(Quote(r, Value(r, key))).Append('\n');
                    }

                    break;
                case 1:
                    sb.Append(" {a: 1, b: [x, y]}\n");
                    break;
                case 2:
                    sb.Append(" &anchor ").Append(Quote(r, Value(r, key))).Append('\n').Append(indent).Append("again: *anchor\n");
                    break;
                case 3:
                    sb.Append(" !!binary aGVsbG8=\n");
                    break;
                case 4:
                    sb.Append(" |\n").Append(indent).Append("  ").Append(Value(r, key).Replace("\n", " ", StringComparison.Ordinal)).Append('\n');
                    break;
                case 5:
                    sb.Append(" [").Append(Quote(r, Value(r, key))).Append(", [nested]]\n");
                    break;
                default:
                    sb.Append(' ').Append(Quote(r, Value(r, key))).Append('\n');
                    break;
            }
        }

        switch (r.Next(14))
        {
            case 0:
                sb.Append("? [complex, key]\n: value\n");
                break;
            case 1:
                sb.Append("clientID: a\nclientID: b\n");
                break;
            case 2:
                sb.Append("redis:\n  address: x:1\n  tls: [1, 2]\n");
                break;
            case 3:
                sb.Append("---\nsecond: document\n");
                break;
            case 4:
                sb.Insert(r.Next(sb.Length + 1), r.Text(20));
                break;
            case 5:
                sb.Append("\t tab: indented\n");
                break;
            case 6:
                sb.Append(new string('[', 40)).Append(new string(']', 40)).Append('\n');
                break;
            case 7:
                sb.Append("? { a: b }\n: c\n");
                break;
            case 8:
                sb.Append("redis:\n  ? [x]\n  : y\n");
                break;
            case 9:
                sb.Append("null: ~\n~: null\n");
                break;
            case 10:
                sb.Clear().Append(r.Pick(["[]", "- a\n- b", "plain scalar", "", "~", "'", "{", "%YAML 1.1\n---\na: b"]));
                break;
        }

        return sb.ToString();
    }

    private static string Quote(Random r, string value) => r.Next(3) switch
    {
        0 => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"",
        1 => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'",
        _ => value,
    };

    [Test]
    public async Task Load_RandomEnvironmentsCommandLinesAndYaml_ValidOptionsOrOneMessageWithoutSecrets()
    {
        var directory = TestPaths.NewTempDirectory("config-fuzz");
        var accepted = 0;
        try
        {
            var ran = await Fuzz.RunAsync("configuration", (r, i) =>
            {
                var env = BaseEnvironment();
                var args = new List<string>();
                for (var n = r.Next(0, 7); n > 0; n--)
                {
                    var key = r.Pick(SettingsCatalogue.All);
                    var value = Value(r, key);
                    switch (r.Next(10))
                    {
                        case < 6:
                            env[key.EnvironmentName] = value;
                            break;
                        case < 8:
                            args.Add("--" + key.Path + "=" + value);
                            break;
                        case 8:
                            args.AddRange(["--" + key.Path.Replace('.', ':'), value]);
                            break;
                        default:
                            env[r.Text(12)] = value;
                            break;
                    }
                }

                if (r.Chance(0.02))
                {
                    env.Remove(r.Pick(["PROVIDER_URL", "CLIENT_ID", "CLIENT_SECRET", "SESSION_ENCRYPTION_KEY"]));
                }

                if (r.Chance(0.01))
                {
                    env["CLIENT_SECRET_FILE"] = r.Pick(["/nonexistent", "/etc/hostname", directory]);
                }

                if (r.Chance(0.05))
                {
                    var file = Path.Combine(directory, "config-" + (i % 16).ToString(CultureInfo.InvariantCulture) + ".yaml");
                    // Lone surrogates become U+FFFD; now and then the file is plain random bytes (not UTF-8 at all).
                    var bytes = Encoding.UTF8.GetBytes(Yaml(r));
                    if (r.Chance(0.05))
                    {
                        r.NextBytes(bytes);
                    }

                    File.WriteAllBytes(file, bytes);
                    if (r.Chance(0.5))
                    {
                        args.Add("--config=" + file);
                    }
                    else
                    {
                        env["FORWARDAUTH_CONFIG"] = file;
                    }
                }

                Fuzz.Input = "args [" + string.Join(' ', args) + "], env {" + string.Join(", ", env.Select(e => e.Key + "=" + e.Value)) + "}";
                try
                {
                    var options = ConfigurationLoader.Load(args, name => env.GetValueOrDefault(name), out _);
                    accepted++;
                    CheckAccepted(options, i);
                }
                catch (ConfigurationException e)
                {
                    if (e.Problems.Count == 0 || e.Message.Length == 0)
                    {
                        Assert.Fail($"iteration {i}: refused without naming a problem");
                    }

                    foreach (var secret in Secrets)
                    {
                        if (e.Message.Contains(secret, StringComparison.Ordinal) || e.Message.Contains(secret[..16], StringComparison.Ordinal))
                        {
                            Assert.Fail($"iteration {i}: the message shows a secret: {e.Message}");
                        }
                    }
                }

                return Task.CompletedTask;
            });

            TestContext.Progress.WriteLine($"fuzz configuration: {accepted} accepted, {ran - accepted} refused with a message");
            Assert.That(ran, Is.EqualTo(Fuzz.Inputs));
            Assert.That(accepted, Is.GreaterThan(1000), "the generator also produces valid configurations");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    // Each of these once stopped the loader with something other than ConfigurationException (found by this fuzzer).
    [TestCase("SESSION_MAX_AGE", "99999999999999999", null, Description = "TimeSpan overflow after the range error")]
    [TestCase("REDIS_DIAL_TIMEOUT", "9223372036854775807", null, Description = "TimeSpan overflow after the range error")]
    [TestCase("PROVIDER_URL", "//\u200e", null, Description = "Uri.TryCreate throws IndexOutOfRangeException")]
    [TestCase("CALLBACK_URL", "/\\\u200e", null, Description = "Uri.TryCreate throws IndexOutOfRangeException")]
    [TestCase("EXCLUDED_URLS", "/public,//", null, Description = "'//' trimmed to the empty prefix, which excluded every path")]
    [TestCase(null, null, "? [complex, key]\n: value\n", Description = "a non-scalar key: InvalidCastException")]
    [TestCase(null, null, ": [\u007f;%09,/public,\\\u0085https://, [nested]]\n", Description = "YamlDotNet InvalidOperationException")]
    [TestCase(null, null, "\u0000: \"no\"\n", Description = "YamlDotNet ArgumentException")]
    [TestCase(null, null, "healthCheckInterval: !!binar;%00data:y aGVsbG8=\n", Description = "YamlDotNet ArgumentException (tag)")]
    public void Load_InputsThatOnceCrashed_RefusedWithAMessage(string? variable, string? value, string? yaml)
    {
        var env = BaseEnvironment();
        if (variable is not null)
        {
            env[variable] = value!;
        }

        var directory = TestPaths.NewTempDirectory("config-crash");
        try
        {
            if (yaml is not null)
            {
                env["FORWARDAUTH_CONFIG"] = Path.Combine(directory, "config.yaml");
                File.WriteAllText(env["FORWARDAUTH_CONFIG"], yaml);
            }

            var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load([], name => env.GetValueOrDefault(name)));

            Assert.That(e!.Problems, Is.Not.Empty);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void CheckAccepted(ForwardAuthOptions o, int i)
    {
        var problems = new List<string>();
        if (o.SessionEncryptionKeys.Count == 0 || o.SessionEncryptionKeys.Any(k => k.Length < 32))
        {
            problems.Add("a session key under 32 characters");
        }

        if (o.ProviderUrl.Scheme != "https" && !(o.ProviderUrl.Scheme == "http" && o.AllowHttpProvider) || o.ProviderUrl.UserInfo.Length > 0)
        {
            problems.Add("providerURL " + o.ProviderUrl);
        }

        foreach (var path in new[] { o.LogoutPath, o.LoginPath, o.BackchannelLogoutPath }.Concat(o.AbsoluteCallbackUrl is null ? [o.CallbackPath] : []))
        {
            if (!path.StartsWith('/') || path.StartsWith("//", StringComparison.Ordinal) || path.Any(c => char.IsControl(c) || c is '?' or '#' or '\\' or ' '))
            {
                problems.Add("path " + path);
            }
        }

        if (o.ExcludedUrls.Any(p => !p.StartsWith('/') || p.Contains('?', StringComparison.Ordinal) || p.Contains('%', StringComparison.Ordinal)))
        {
            problems.Add("excludedURLs " + string.Join(',', o.ExcludedUrls));
        }

        if (o.CookiePrefix.Length == 0 || o.CookiePrefix.Any(c => c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal)))
        {
            problems.Add("cookiePrefix " + o.CookiePrefix);
        }

        if (o.SessionMaxAge < TimeSpan.FromSeconds(60) || o.SessionMaxAge > TimeSpan.FromSeconds(31_536_000) || o.JtiCacheTtl < TimeSpan.FromSeconds(60)
            || o.Redis.CircuitBreakerThreshold < 1 || o.Redis.Db is < 0 or > 15 || o.Redis.ReadTimeout < TimeSpan.FromSeconds(1))
        {
            problems.Add("a number outside its documented range");
        }

        if (o.Scopes.Count == 0 || o.Scopes[0] != "openid" || o.ClientId.Length == 0 || o.ClientSecret.Length == 0)
        {
            problems.Add("required OIDC settings");
        }

        if (problems.Count > 0)
        {
            Assert.Fail($"iteration {i}: accepted a configuration that breaks its rules: {string.Join("; ", problems)}");
        }
    }
}
