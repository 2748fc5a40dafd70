using ForwardAuth;
using ForwardAuth.Configuration;
using ForwardAuth.Observability;

// "--version" answers before any configuration is read, so it works without a provider, a key or Redis.
if (args.Contains("--version", StringComparer.Ordinal))
{
    await Console.Out.WriteLineAsync("ForwardAuth " + BuildInfo.InformationalVersion);
    return 0;
}

try
{
    var app = HostingExtensions.Build(args, Environment.GetEnvironmentVariable);
    await app.RunAsync();
    return 0;
}
catch (ConfigurationException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return 2;
}
