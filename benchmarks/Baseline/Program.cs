// The bare-Kestrel ceiling of docs/benchmarks.md: ForwardAuth's hosting (CreateSlimBuilder, Kestrel, no Server
// header, no logging beyond Warning) with one endpoint that answers 200 and nothing else. Whatever ForwardAuth does
// on /auth costs what separates its throughput from this one's, measured in the same run.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
var app = builder.Build();
app.Map("/auth", () => Results.Ok());
app.MapGet("/healthz", () => Results.Ok());
app.Run();
