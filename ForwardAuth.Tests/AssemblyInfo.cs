// Fixtures run one at a time — NUnit's default, stated here so that it is a decision and not an accident: they start
// real processes (Redis, the provider, Caddy, replicas) on two shared cores, and the Security and Fuzzing suites share
// one stack through their SetUpFixture's static properties. What does run concurrently inside one test (Task.WhenAll
// over one ForwardAuthClient, a store's background probe, a process's output readers) is made thread-safe where it is
// kept: ForwardAuthClient's cookie jar, LogCapture, ExternalProcess's output, FlakyBackend's counters, Fuzz.Input.
[assembly: Parallelizable(ParallelScope.None)]
