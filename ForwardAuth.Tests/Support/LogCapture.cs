using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace ForwardAuth.Tests.Support;

/// <summary>Keeps every log event of an in-process replica exactly as it would be printed (compact JSON).</summary>
internal sealed class LogCapture : ILogEventSink
{
    private readonly RenderedCompactJsonFormatter _formatter = new();

    public ConcurrentQueue<string> Lines { get; } = new();

    public void Emit(LogEvent logEvent)
    {
        using var writer = new StringWriter();
        _formatter.Format(logEvent, writer);
        Lines.Enqueue(writer.ToString());
    }
}
