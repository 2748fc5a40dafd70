using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ForwardAuth.Tests.Fast.Support;

/// <summary>Every log line of a fast stack, formatted, with its level (tests read what an operator would read).</summary>
internal sealed class FastLogs : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message)> Lines { get; } = new();

    public IEnumerable<string> Warnings => Lines.Where(l => l.Level == LogLevel.Warning).Select(l => l.Message);

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(FastLogs logs) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs.Lines.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
    }
}
