using System.Globalization;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// A redis-server that speaks TLS only (<c>port 0</c>, <c>tls-port P</c>) with certificates made by openssl at start
/// (a CA, a server certificate for <c>DNS:localhost,IP:127.0.0.1</c>, a client certificate), a password on the default
/// user (<c>requirepass</c>) and an ACL user confined to one key prefix and its channels. With
/// <c>requireClientCertificate</c> the server runs <c>tls-auth-clients yes</c>: no client certificate, no connection.
/// </summary>
internal sealed class RedisTls : IAsyncDisposable
{
    public const string User = "forwardauth";
    public const string UserPassword = "acl-user-secret-1";
    public const string DefaultPassword = "default-user-secret-2";

    private readonly string _directory;
    private RedisNode? _node;

    private RedisTls(string directory, string prefix, bool requireClientCertificate)
    {
        _directory = directory;
        Prefix = prefix;
        RequireClientCertificate = requireClientCertificate;
    }

    public string Prefix { get; }

    public bool RequireClientCertificate { get; }

    public int Port => _node!.Port;

    public string Address => _node!.Address;

    public string CaFile => Path.Combine(_directory, "ca.crt");

    public string ClientCertFile => Path.Combine(_directory, "client.crt");

    public string ClientKeyFile => Path.Combine(_directory, "client.key");

    /// <summary>The test's own view, as the default (unrestricted) user, over TLS with the client certificate.</summary>
    public Resp.Tls ClientTls => new(CaFile, ClientCertFile, ClientKeyFile);

    /// <summary>How long <see cref="StartAsync"/> took (certificates included), for the log.</summary>
    public TimeSpan StartupTime { get; private set; }

    public static async Task<RedisTls> StartAsync(string prefix, bool requireClientCertificate)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var server = new RedisTls(TestPaths.NewTempDirectory("redis-tls"), prefix, requireClientCertificate);
        try
        {
            await server.MakeCertificatesAsync();
            server._node = await RedisNode.StartAsync(
                "redis-tls",
                port => [server.WriteConf(port)],
                ready: async port => await Resp.TryCommandAsync(port, ["PING"], tls: server.ClientTls) is not null);
            server.StartupTime = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a command as the default user (it sees every key and database).</summary>
    public Task<object?> AdminAsync(int db, params string[] args) =>
        Resp.CommandAsync(Port, args, DefaultPassword, tls: ClientTls, db: db);

    private string WriteConf(int port)
    {
        var conf = Path.Combine(_directory, "redis.conf");
        File.WriteAllLines(conf,
        [
            "port 0",
            "tls-port " + port.ToString(CultureInfo.InvariantCulture),
            "bind 127.0.0.1",
            "save \"\"",
            "appendonly no",
            "dir " + _directory,
            "loglevel notice",
            "tls-cert-file " + Path.Combine(_directory, "server.crt"),
            "tls-key-file " + Path.Combine(_directory, "server.key"),
            "tls-ca-cert-file " + CaFile,
            "tls-auth-clients " + (RequireClientCertificate ? "yes" : "no"),
            "requirepass " + DefaultPassword,
            // What the service needs and nothing more: its own keys and channels, no @dangerous command (KEYS,
            // FLUSHDB, CONFIG, DEBUG, ...). RedisCacheBackend uses GET/SET/DEL/EXISTS/GETDEL/SCAN/PING (+ SELECT,
            // CLIENT SETNAME, HELLO from the client library) and pub/sub under the prefix.
            $"user {User} on >{UserPassword} ~{Prefix}:* &{Prefix}:* +@all -@dangerous",
        ]);
        return conf;
    }

    private async Task MakeCertificatesAsync()
    {
        string P(string name) => Path.Combine(_directory, name);
        File.WriteAllText(P("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        File.WriteAllText(P("client.ext"), "extendedKeyUsage=clientAuth\n");
        string[] ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

        await OpenSslAsync(["req", "-x509", "-new", .. ec, "-keyout", P("ca.key"), "-out", CaFile, "-days", "2", "-subj", "/CN=ForwardAuth Test CA"]);
        foreach (var (name, cn) in new[] { ("server", "localhost"), ("client", User) })
        {
            await OpenSslAsync(["req", "-new", .. ec, "-keyout", P(name + ".key"), "-out", P(name + ".csr"), "-subj", "/CN=" + cn]);
            await OpenSslAsync(
            [
                "x509", "-req", "-in", P(name + ".csr"), "-CA", CaFile, "-CAkey", P("ca.key"),
                "-set_serial", "0x" + Convert.ToHexString(Guid.NewGuid().ToByteArray()[..8]), "-days", "2",
                "-extfile", P(name + ".ext"), "-out", P(name + ".crt"),
            ]);
        }
    }

    private static async Task OpenSslAsync(string[] args)
    {
        await using var openssl = ExternalProcess.Start(TestPaths.RequireExecutable("openssl"), args);
        var exit = await openssl.WaitForExitAsync(TimeSpan.FromSeconds(20));
        if (exit != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', args)} exited with {exit}:\n{string.Join('\n', openssl.Output.TakeLast(15))}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        Topology.DeleteDirectory(_directory);
    }
}
