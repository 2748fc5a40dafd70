using ForwardAuth.Configuration;

namespace ForwardAuth.Tests.Configuration;

/// <summary>
/// <c>minWorkerThreads</c> (issue 18): read with its default, bounded with an error naming the field, and applied as a
/// raise of the thread pool's minimum that never lowers it.
/// </summary>
[NonParallelizable]
public class MinWorkerThreadsTests
{
    private static Dictionary<string, string> Valid() => new()
    {
        ["PROVIDER_URL"] = "https://id.example.com/realms/main",
        ["CLIENT_ID"] = "forwardauth",
        ["CLIENT_SECRET"] = "s3cret-value",
        ["SESSION_ENCRYPTION_KEY"] = "0123456789abcdef0123456789abcdef-key",
    };

    private static ForwardAuthOptions Load(Dictionary<string, string> env) =>
        ConfigurationLoader.Load([], n => env.TryGetValue(n, out var v) ? v : null, out _);

    [Test]
    public void Default_Is64() => Assert.That(Load(Valid()).MinWorkerThreads, Is.EqualTo(64));

    [Test]
    public void Set_IsRead() =>
        Assert.That(Load(new Dictionary<string, string>(Valid()) { ["MIN_WORKER_THREADS"] = "0" }).MinWorkerThreads, Is.Zero);

    [Test]
    public void OutOfRange_FailsNamingTheField() =>
        Assert.That(
            Assert.Throws<ConfigurationException>(() => Load(new Dictionary<string, string>(Valid()) { ["MIN_WORKER_THREADS"] = "-1" }))!.Message,
            Does.Contain("minWorkerThreads (MIN_WORKER_THREADS)"));

    [Test]
    public void Apply_RaisesTheMinimum_NeverLowersIt()
    {
        ThreadPool.GetMinThreads(out var before, out var ports);
        try
        {
            Assert.That(ThreadPoolMinimum.Apply(before + 3), Is.EqualTo(before + 3));
            ThreadPool.GetMinThreads(out var raised, out _);
            Assert.That(raised, Is.EqualTo(before + 3));

            Assert.That(ThreadPoolMinimum.Apply(1), Is.EqualTo(before + 3), "a lower setting leaves the minimum as it is");
            Assert.That(ThreadPoolMinimum.Apply(0), Is.EqualTo(before + 3), "0: the runtime's default, untouched");
            ThreadPool.GetMinThreads(out var after, out _);
            Assert.That(after, Is.EqualTo(before + 3));
        }
        finally
        {
            ThreadPool.SetMinThreads(before, ports);
        }
    }
}
