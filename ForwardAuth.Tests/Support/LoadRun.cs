using System.Collections.Concurrent;
using System.Diagnostics;

namespace ForwardAuth.Tests.Support;

/// <summary>
/// Concurrent load of logged-in users against replicas' <c>/auth</c> (as the proxy would call it), recording every
/// answer with its latency, until stopped. The answers tell whether anybody was turned away or saw a 5xx.
/// </summary>
internal sealed class LoadRun : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 200, AllowAutoRedirect = false, UseCookies = false })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <param name="path"><c>/auth</c> (the default: a session lookup in the store), or a path that never touches the store
    /// (<c>/healthz</c>) to compare with in the same run.</param>
    public LoadRun(IReadOnlyList<ForwardAuthInstance> replicas, IReadOnlyList<string> sessionCookies, int connections, string path = "/auth")
    {
        _workers = Enumerable.Range(0, connections).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; !_stop.IsCancellationRequested; i++)
            {
                var replica = replicas[i % replicas.Count];
                using var request = new HttpRequestMessage(HttpMethod.Get, replica.BaseUrl + path);
                request.Headers.Add("X-Forwarded-Method", "GET");
                request.Headers.Add("X-Forwarded-Proto", "http");
                request.Headers.Add("X-Forwarded-Host", "app.test");
                request.Headers.Add("X-Forwarded-Uri", "/load");
                request.Headers.Add("Accept", "text/html");
                request.Headers.Add("Cookie", "_forwardauth_session=" + sessionCookies[i % sessionCookies.Count]);
                var started = Stopwatch.GetTimestamp();
                int status;
                try
                {
                    using var response = await _http.SendAsync(request, _stop.Token);
                    status = (int)response.StatusCode;
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (HttpRequestException)
                {
                    status = -1;
                }

                Results.Add(new Result(DateTime.UtcNow, status, Stopwatch.GetElapsedTime(started), replica.Port));
            }
        })).ToArray();
    }

    /// <summary>One answer: when it came (UTC), its status (-1: no answer), how long it took, and which replica gave it.</summary>
    public sealed record Result(DateTime At, int Status, TimeSpan Latency, int ReplicaPort);

    public ConcurrentBag<Result> Results { get; } = [];

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _http.Dispose();
        _stop.Dispose();
    }
}
