namespace ForwardAuth.Endpoints;

/// <summary>The endpoints' own log category (static handlers cannot be an <c>ILogger&lt;T&gt;</c> argument).</summary>
internal sealed class EndpointLogger(ILoggerFactory factory)
{
    public ILogger Logger { get; } = factory.CreateLogger("ForwardAuth.Endpoints");
}
