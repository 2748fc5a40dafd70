using Harness;

// Commands (each prints what it did; run.sh calls them in order):
//   login      --fa URL --users N --prefix NAME --cookies FILE [--bearer FILE] [--concurrency N]
//   callbacks  --fa URL --count N --concurrency N --name NAME --raw FILE
//   refresh    --fa URL[,URL] --provider URL --requests N --token-ttl S --name NAME --raw FILE
//   wrk        --name NAME --role scenario|ceiling --url URL --kind cookie|bearer|none --file F --expect 200 [--query Q]
//              --duration S [--warmup S] [--pid PID] [--redis-port P[,P…]] --raw FILE [--scenario-of NAME]
//              [--sessions N --working-set N --mode M --topology T]   (a scale run: recorded with the measurement)
//   redis-bench --name NAME --port P --clients N --requests N --size BYTES --raw FILE [--scenario-of NAME]
//   open-loop  --name NAME --url URL --kind cookie|bearer|none --file F [--expect 200] (--rate R | --rate-of NAME --fraction F)
//              --duration S [--warmup S] [--connections N] [--round N] --raw FILE     (constant arrival rate, see OpenLoop.cs)
//   redis-info --ports P[,P…] [--name NAME --count N --since FILE --raw FILE]   (used_memory/commands/bytes, see RedisInfo.cs)
//   open-breaker --fa URL --file F        (sends requests until /health reports the breaker open)
//   report     --raw FILE --machine FILE [--lscpu FILE] [--micro DIR] [--findings FILE] --md FILE --json FILE
var command = args.Length > 0 ? args[0] : "help";
var options = Args.Parse(args.Skip(1));
try
{
    return command switch
    {
        "login" => await Logins.RunAsync(options),
        "callbacks" => await Callbacks.RunAsync(options),
        "refresh" => await Refresh.RunAsync(options),
        "wrk" => await Measure.WrkAsync(options),
        "redis-bench" => await Measure.RedisBenchmarkAsync(options),
        "open-loop" => await OpenLoop.RunAsync(options),
        "redis-info" => await RedisInfo.RunAsync(options),
        "open-breaker" => await Measure.OpenBreakerAsync(options),
        "report" => Report.Write(options),
        _ => Usage(),
    };
}
catch (HarnessException e)
{
    Console.Error.WriteLine("harness: " + e.Message);
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: harness login|callbacks|refresh|wrk|open-loop|redis-bench|redis-info|open-breaker|report --option value ... (see Program.cs)");
    return 2;
}
