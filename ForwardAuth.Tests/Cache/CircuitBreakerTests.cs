using ForwardAuth.Cache;
using Microsoft.Extensions.Time.Testing;

namespace ForwardAuth.Tests.Cache;

public class CircuitBreakerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private FakeTimeProvider _time = null!;
    private CircuitBreaker _breaker = null!;
    private List<(CircuitState From, CircuitState To)> _transitions = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider();
        _breaker = new CircuitBreaker(threshold: 3, Timeout, _time);
        _transitions = [];
        _breaker.StateChanged += (from, to) => _transitions.Add((from, to));
    }

    private void Fail(int times)
    {
        for (var i = 0; i < times; i++)
        {
            Assert.That(_breaker.TryAcquire(out var probe), Is.True);
            _breaker.OnFailure(probe);
        }
    }

    [Test]
    public void Closed_FailuresBelowThreshold_StaysClosed()
    {
        Fail(2);

        Assert.That(_breaker.State, Is.EqualTo(CircuitState.Closed));
        Assert.That(_breaker.ConsecutiveFailures, Is.EqualTo(2));
        Assert.That(_transitions, Is.Empty);
    }

    [Test]
    public void Closed_ThresholdConsecutiveFailures_Opens()
    {
        Fail(3);

        Assert.That(_breaker.State, Is.EqualTo(CircuitState.Open));
        Assert.That(_transitions, Is.EqualTo(new[] { (CircuitState.Closed, CircuitState.Open) }));
    }

    [Test]
    public void Closed_SuccessBetweenFailures_ResetsTheCount()
    {
        Fail(2);
        _breaker.TryAcquire(out var probe);
        _breaker.OnSuccess(probe);
        Fail(2);

        Assert.That(_breaker.State, Is.EqualTo(CircuitState.Closed));
        Assert.That(_breaker.ConsecutiveFailures, Is.EqualTo(2));
    }

    [Test]
    public void Open_RefusesAtOnceUntilTheTimeout()
    {
        Fail(3);
        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));

        Assert.That(_breaker.TryAcquire(out _), Is.False);
        Assert.That(_breaker.State, Is.EqualTo(CircuitState.Open));
    }

    [Test]
    public void Open_AfterTimeout_HalfOpenAdmitsOneProbeOnly()
    {
        Fail(3);
        _time.Advance(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(_breaker.State, Is.EqualTo(CircuitState.HalfOpen));
            Assert.That(_breaker.TryAcquire(out var first), Is.True);
            Assert.That(first, Is.True, "the admitted call is a probe");
            Assert.That(_breaker.TryAcquire(out _), Is.False, "a second call waits for the probe's verdict");
            Assert.That(_transitions.Last(), Is.EqualTo((CircuitState.Open, CircuitState.HalfOpen)));
        });
    }

    [Test]
    public void HalfOpen_ProbeSucceeds_Closes()
    {
        Fail(3);
        _time.Advance(Timeout);
        _breaker.TryAcquire(out var probe);

        _breaker.OnSuccess(probe);

        Assert.That(_breaker.State, Is.EqualTo(CircuitState.Closed));
        Assert.That(_breaker.ConsecutiveFailures, Is.Zero);
        Assert.That(_breaker.TryAcquire(out var next) && !next, Is.True, "closed again: ordinary calls pass");
        Assert.That(_transitions.Select(t => t.To), Is.EqualTo(new[] { CircuitState.Open, CircuitState.HalfOpen, CircuitState.Closed }));
    }

    [Test]
    public void HalfOpen_ProbeFails_OpensForAnotherFullTimeout()
    {
        Fail(3);
        _time.Advance(Timeout);
        _breaker.TryAcquire(out var probe);

        _breaker.OnFailure(probe);
        _time.Advance(Timeout - TimeSpan.FromSeconds(1));

        Assert.That(_breaker.State, Is.EqualTo(CircuitState.Open));
        Assert.That(_breaker.TryAcquire(out _), Is.False);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(_breaker.State, Is.EqualTo(CircuitState.HalfOpen));
    }

    [Test]
    public void HalfOpen_AbandonedProbe_FreesItsSlot()
    {
        Fail(3);
        _time.Advance(Timeout);
        _breaker.TryAcquire(out var probe);

        _breaker.OnAbandoned(probe);

        Assert.That(_breaker.TryAcquire(out var again), Is.True);
        Assert.That(again, Is.True);
        Assert.That(_breaker.State, Is.EqualTo(CircuitState.HalfOpen));
    }

    [Test]
    public void Open_LateResultsOfEarlierCalls_ChangeNothing()
    {
        Assert.That(_breaker.TryAcquire(out var straggler), Is.True);
        Fail(3);

        _breaker.OnSuccess(straggler);

        Assert.That(_breaker.State, Is.EqualTo(CircuitState.Open), "a success that started before the outage does not close the circuit");
    }

    [Test]
    public void HalfOpen_SeveralProbesAllowed_AdmitsThatMany()
    {
        var breaker = new CircuitBreaker(1, Timeout, _time, halfOpenProbes: 2);
        breaker.TryAcquire(out _);
        breaker.OnFailure(false);
        _time.Advance(Timeout);

        Assert.That(breaker.TryAcquire(out _), Is.True);
        Assert.That(breaker.TryAcquire(out _), Is.True);
        Assert.That(breaker.TryAcquire(out _), Is.False);
    }
}
