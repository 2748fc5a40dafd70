using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// A tiny RESP2 client for the fixtures' own checks (is it up, who is master, is the replica in sync). It is kept
/// apart from StackExchange.Redis on purpose: a fixture must not depend on the library whose behaviour the tests
/// observe. One connection per call; replies are strings, longs, null, arrays (<c>object?[]</c>) or <see cref="RespError"/>.
/// </summary>
internal static class Resp
{
    internal sealed record Tls(string CaFile, string? CertFile, string? KeyFile);

    internal sealed record RespError(string Message)
    {
        public override string ToString() => Message;
    }

    public static async Task<object?> CommandAsync(int port, IReadOnlyList<string> args, string? password = null, string? user = null, Tls? tls = null, int db = 0, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(2));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, cts.Token);
        Stream stream = client.GetStream();
        if (tls is not null)
        {
            stream = await HandshakeAsync(stream, tls, cts.Token);
        }

        await using (stream)
        {
            var reader = new Reader(stream);
            if (password is not null)
            {
                var auth = await SendAsync(stream, reader, user is null ? ["AUTH", password] : ["AUTH", user, password], cts.Token);
                if (auth is RespError e)
                {
                    return e;
                }
            }

            if (db != 0)
            {
                var select = await SendAsync(stream, reader, ["SELECT", db.ToString(CultureInfo.InvariantCulture)], cts.Token);
                if (select is RespError e)
                {
                    return e;
                }
            }

            return await SendAsync(stream, reader, args, cts.Token);
        }
    }

    public static Task<object?> CommandAsync(int port, params string[] args) => CommandAsync(port, (IReadOnlyList<string>)args);

    /// <summary><c>INFO section</c> as key/value pairs (empty when the node does not answer).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> InfoAsync(int port, string section, string? password = null)
    {
        var reply = await CommandAsync(port, ["INFO", section], password);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (reply is string text)
        {
            foreach (var line in text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && !line.StartsWith('#'))
                {
                    result[line[..colon]] = line[(colon + 1)..];
                }
            }
        }

        return result;
    }

    /// <summary>Like <see cref="CommandAsync(int, IReadOnlyList{string}, string?, string?, Tls?, int, TimeSpan?)"/>, but a refused, reset or failed connection is a null reply (for polling).</summary>
    public static async Task<object?> TryCommandAsync(int port, IReadOnlyList<string> args, string? password = null, Tls? tls = null)
    {
        try
        {
            return await CommandAsync(port, args, password, tls: tls);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            return null;
        }
    }

    private static async Task<Stream> HandshakeAsync(Stream inner, Tls tls, CancellationToken cancellationToken)
    {
        using var ca = X509CertificateLoader.LoadCertificateFromFile(tls.CaFile);
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            if (certificate is null)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var server = new X509Certificate2(certificate);
            return chain.Build(server);
        });
        var options = new SslClientAuthenticationOptions { TargetHost = "localhost" };
        if (tls.CertFile is not null && tls.KeyFile is not null)
        {
            options.ClientCertificates = [X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile)];
        }

        await ssl.AuthenticateAsClientAsync(options, cancellationToken);
        return ssl;
    }

    private static async Task<object?> SendAsync(Stream stream, Reader reader, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var request = new StringBuilder().Append('*').Append(args.Count).Append("\r\n");
        foreach (var arg in args)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken);
        await stream.FlushAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken);
    }

    private sealed class Reader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public async Task<object?> ReadAsync(CancellationToken cancellationToken)
        {
            var line = await ReadLineAsync(cancellationToken);
            var body = line[1..];
            switch (line[0])
            {
                case '+':
                    return body;
                case '-':
                    return new RespError(body);
                case ':':
                    return long.Parse(body, CultureInfo.InvariantCulture);
                case '$':
                    var length = int.Parse(body, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var bytes = await ReadExactAsync(length + 2, cancellationToken);
                    return Encoding.UTF8.GetString(bytes, 0, length);
                case '*':
                    var count = int.Parse(body, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return null;
                    }

                    var items = new object?[count];
                    for (var i = 0; i < count; i++)
                    {
                        items[i] = await ReadAsync(cancellationToken);
                    }

                    return items;
                default:
                    throw new IOException("unexpected RESP reply: " + line);
            }
        }

        private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            var text = new StringBuilder();
            while (true)
            {
                if (_start == _end)
                {
                    await FillAsync(cancellationToken);
                }

                var b = _buffer[_start++];
                if (b == '\n' && text.Length > 0 && text[^1] == '\r')
                {
                    return text.ToString(0, text.Length - 1);
                }

                text.Append((char)b);
            }
        }

        private async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken)
        {
            var result = new byte[count];
            var filled = 0;
            while (filled < count)
            {
                if (_start == _end)
                {
                    await FillAsync(cancellationToken);
                }

                var n = Math.Min(count - filled, _end - _start);
                Array.Copy(_buffer, _start, result, filled, n);
                _start += n;
                filled += n;
            }

            return result;
        }

        private async Task FillAsync(CancellationToken cancellationToken)
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer, cancellationToken);
            if (_end == 0)
            {
                throw new IOException("connection closed by the server");
            }
        }
    }
}
