using Prometheus;

namespace ForwardAuth.Observability;

/// <summary>
/// Every metric of the service, declared in one place on an injectable registry. The reference document's names
/// (<c>traefikoidc_*</c>) stay as written so its Grafana queries work; our own are <c>forwardauth_*</c>. No label ever
/// carries a user, token or other unbounded value.
/// </summary>
internal sealed class ForwardAuthMetrics
{
    private static readonly double[] LatencyBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    public ForwardAuthMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        var factory = Metrics.WithCustomRegistry(registry);

        CacheRequests = factory.CreateCounter("traefikoidc_cache_requests_total", "Cache reads (get, exists) by the service.");
        CacheHits = factory.CreateCounter("traefikoidc_cache_hits_total", "Cache reads that found their key.");
        RedisOperationDuration = factory.CreateHistogram(
            "traefikoidc_redis_operation_duration_seconds",
            "Duration of Redis operations, by operation and outcome.",
            new HistogramConfiguration { LabelNames = ["operation", "outcome"], Buckets = LatencyBuckets });
        CircuitBreakerState = factory.CreateGauge("traefikoidc_circuit_breaker_state", "Redis circuit breaker: 0 closed, 1 open, 2 half-open.");

        Decisions = factory.CreateCounter("forwardauth_decisions_total", "Forward-auth answers by outcome.",
            new CounterConfiguration { LabelNames = ["outcome"] });
        DecisionDuration = factory.CreateHistogram("forwardauth_decision_duration_seconds", "Time to answer a forward-auth call, by outcome.",
            new HistogramConfiguration { LabelNames = ["outcome"], Buckets = LatencyBuckets });
        LoginsStarted = factory.CreateCounter("forwardauth_logins_started_total", "Logins sent to the provider.");
        LoginsCompleted = factory.CreateCounter("forwardauth_logins_completed_total", "Logins that created a session.");
        LoginsFailed = factory.CreateCounter("forwardauth_logins_failed_total", "Login callbacks refused, by reason.",
            new CounterConfiguration { LabelNames = ["reason"] });
        Refreshes = factory.CreateCounter("forwardauth_refreshes_total", "Token refreshes, by outcome (success, refused, failed).",
            new CounterConfiguration { LabelNames = ["outcome"] });
        SessionCheckOutcomes = factory.CreateCounter("forwardauth_session_checks_total",
            "Sessions checked at the provider (sessionCheckInterval), by outcome: ok (still honoured), ended (invalid_grant or userinfo 401: the session ended everywhere), skipped (provider unreachable, 5xx, timeout: kept, checked again next interval).",
            new CounterConfiguration { LabelNames = ["outcome"] });
        Logouts = factory.CreateCounter("forwardauth_logouts_total", "Sessions ended by logout, by kind (rp, backchannel, frontchannel, idle).",
            new CounterConfiguration { LabelNames = ["kind"] });
        SessionRevocations = factory.CreateCounter("forwardauth_session_revocations_total",
            "Sessions ended by their user on the My sessions page, by kind (one, all: all but the current one).", new CounterConfiguration { LabelNames = ["kind"] });
        ReplayRejections = factory.CreateCounter("forwardauth_replay_rejections_total", "Single-use artefacts presented again, by artefact.",
            new CounterConfiguration { LabelNames = ["artefact"] });
        SsoTicketResults = factory.CreateCounter("forwardauth_sso_tickets_total",
            "Single sign-on tickets, by result (issued, target_refused, redeemed, unknown, other_origin, other_browser, login_ended).",
            new CounterConfiguration { LabelNames = ["result"] });
        BearerRejections = factory.CreateCounter("forwardauth_bearer_rejections_total", "Bearer tokens refused.");
        RegulationFailures = factory.CreateCounter("forwardauth_regulation_failures_total",
            "Invalid credentials counted by regulation, by kind (bearer, cookie, state).", new CounterConfiguration { LabelNames = ["kind"] });
        RegulationBans = factory.CreateCounter("forwardauth_regulation_bans_total", "Clients banned by regulation (counted by the replica that added the ban).");
        RegulationRefusals = factory.CreateCounter("forwardauth_regulation_refusals_total", "Requests with credentials refused (429) because their client is banned.");
        FallbackOperations = factory.CreateCounter("forwardauth_fallback_operations_total", "Store operations served by the memory fallback, by operation.",
            new CounterConfiguration { LabelNames = ["operation"] });
        BreakerTransitions = factory.CreateCounter("forwardauth_circuit_breaker_transitions_total", "Circuit breaker transitions.",
            new CounterConfiguration { LabelNames = ["from", "to"] });
        RedisFailures = factory.CreateCounter("forwardauth_redis_failures_total", "Redis operations that failed with an outage (connection, timeout).");
        JournalEntries = factory.CreateGauge("forwardauth_outage_journal_entries", "Writes waiting in the outage journal for Redis to return.");
        JournalDropped = factory.CreateCounter("forwardauth_outage_journal_dropped_total", "Outage journal entries dropped because it was full.");
        LocalCacheEntries = factory.CreateGauge("forwardauth_l1_entries", "Entries in the hybrid mode's local L1.");
        LocalCacheHits = factory.CreateCounter("forwardauth_l1_hits_total", "Reads served by the hybrid mode's local L1.");
        FallbackEntries = factory.CreateGauge("forwardauth_memory_entries", "Entries in the in-memory store (memory mode or the fallback).");
        RedisConnected = factory.CreateGauge("forwardauth_redis_connected", "1 while the Redis multiplexer is connected and the circuit breaker is closed.");
        RedisConnections = factory.CreateGauge("forwardauth_redis_connections", "Redis server connections by state.",
            new GaugeConfiguration { LabelNames = ["state"] });
        ReplayProtectionMode = factory.CreateGauge("forwardauth_replay_protection", "Single-use marker policy while Redis is unreachable (1 for the active mode).",
            new GaugeConfiguration { LabelNames = ["mode"] });
        Build = factory.CreateGauge("forwardauth_build_info", "The running build: version, commit (unknown without git metadata) and .NET runtime; always 1.",
            new GaugeConfiguration { LabelNames = ["version", "commit", "framework"] });
        Build.WithLabels(BuildInfo.Version, BuildInfo.Commit, BuildInfo.Framework).Set(1);
    }

    public CollectorRegistry Registry { get; }

    public Counter CacheRequests { get; }
    public Counter CacheHits { get; }
    public Histogram RedisOperationDuration { get; }
    public Gauge CircuitBreakerState { get; }
    public Counter Decisions { get; }
    public Histogram DecisionDuration { get; }
    public Counter LoginsStarted { get; }
    public Counter LoginsCompleted { get; }
    public Counter LoginsFailed { get; }
    public Counter Refreshes { get; }
    public Counter SessionCheckOutcomes { get; }
    public Counter Logouts { get; }
    public Counter SessionRevocations { get; }
    public Counter ReplayRejections { get; }
    public Counter SsoTicketResults { get; }
    public Counter BearerRejections { get; }
    public Counter RegulationFailures { get; }
    public Counter RegulationBans { get; }
    public Counter RegulationRefusals { get; }
    public Counter FallbackOperations { get; }
    public Counter BreakerTransitions { get; }
    public Counter RedisFailures { get; }
    public Gauge JournalEntries { get; }
    public Counter JournalDropped { get; }
    public Gauge LocalCacheEntries { get; }
    public Counter LocalCacheHits { get; }
    public Gauge FallbackEntries { get; }
    public Gauge RedisConnected { get; }
    public Gauge RedisConnections { get; }
    public Gauge ReplayProtectionMode { get; }
    public Gauge Build { get; }

    // Performance: WithLabels hashes and allocates its label array on every call; the hot path's labelled children
    // (a decision per request, a Redis operation per store call) are looked up once per label value instead.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (Counter.Child Count, Histogram.Child Duration)> _decisionChildren =
        new(StringComparer.Ordinal);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Operation, string Outcome), Histogram.Child> _redisChildren = new();

    /// <summary>One forward-auth answer: <c>forwardauth_decisions_total</c> and its duration, by outcome.</summary>
    public void RecordDecision(string outcome, double seconds)
    {
        var (count, duration) = _decisionChildren.GetOrAdd(outcome, o => (Decisions.WithLabels(o), DecisionDuration.WithLabels(o)));
        count.Inc();
        duration.Observe(seconds);
    }

    /// <summary>One Redis operation's duration, by operation and outcome.</summary>
    public void ObserveRedisOperation(string operation, string outcome, double seconds) =>
        _redisChildren.GetOrAdd((operation, outcome), k => RedisOperationDuration.WithLabels(k.Operation, k.Outcome)).Observe(seconds);

    /// <summary>Gauges read from live objects are updated just before each scrape.</summary>
    public void BeforeScrape(Action update) => Registry.AddBeforeCollectCallback(update);
}
