using ForwardAuth;
using ForwardAuth.Configuration;

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
