// Two processes of the load comparison (see benchmarks/load.sh); the third is samples/Gateway as shipped:
//   upstream  a fake provider answering OpenAI /v1/chat/completions and Anthropic /v1/messages with canned bodies
//   yarp      plain YARP forwarding /v1/{**} to the upstream (the baseline). "--host default" runs it as YARP's
//             getting-started does (WebApplication.CreateBuilder: default logging providers and host), with the
//             sample's log levels and YARP's own per-request lines at Warning; otherwise a slim host with no logging
// and the client of the memory soak (see benchmarks/soak.sh):
//   soak      sends --requests calls with ever-new keys, models and system prompts to --target, printing the target
//             process's (--pid) resident memory every 10,000 calls
//   faults    the fault soak's client (see benchmarks/fault-soak.sh and FaultSoak.cs); "upstream --faults true" then
//             answers 1 call in 40 with a 429, 1 in 40 with a 500, and hangs 1 in 200 for 30 s
using System.Text;

var mode = args.Length > 0 ? args[0] : throw new ArgumentException("usage: LoadHarness upstream|yarp --urls URL [--upstream URL]");
var defaultHost = mode == "yarp" && args.Contains("default");
var builder = defaultHost ? WebApplication.CreateBuilder(args) : WebApplication.CreateSlimBuilder(args);
if (defaultHost)
{
    // The sample's levels (its appsettings.json), and YARP's per-request Information lines off, as the sample has none.
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Yarp"] = "Warning",
    });
}
else
{
    builder.Logging.ClearProviders();
}
var upstream = builder.Configuration["upstream"] ?? "http://127.0.0.1:9001";

switch (mode)
{
    case "upstream":
    {
        var app = builder.Build();
        var openai = Encoding.UTF8.GetBytes("""{"id":"chatcmpl-load","object":"chat.completion","created":1741570283,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}""");
        var anthropic = Encoding.UTF8.GetBytes("""{"id":"msg_load","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}""");
        var faults = builder.Configuration["faults"] == "true";
        long calls = 0;
        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (!faults || n % 40 > 2 && n % 200 != 3)
            {
                await Reply(http, openai);
            }
            else if (n % 200 == 3)
            {
                await Task.Delay(TimeSpan.FromSeconds(30), http.RequestAborted);
                await Reply(http, openai);
            }
            else
            {
                http.Response.StatusCode = n % 40 == 1 ? 429 : 500;
                http.Response.Headers.RetryAfter = "1";
                await http.Response.WriteAsJsonAsync(new { error = new { message = "injected fault", type = n % 40 == 1 ? "rate_limit_exceeded" : "server_error" } });
            }
        });
        app.MapPost("/v1/messages", (HttpContext http) => Reply(http, anthropic));
        app.Run();
        break;
    }

    case "yarp":
    {
        builder.Services.AddReverseProxy().LoadFromMemory(
            [new Yarp.ReverseProxy.Configuration.RouteConfig { RouteId = "all", ClusterId = "upstream", Match = new() { Path = "/v1/{**rest}" } }],
            [new Yarp.ReverseProxy.Configuration.ClusterConfig { ClusterId = "upstream", Destinations = new Dictionary<string, Yarp.ReverseProxy.Configuration.DestinationConfig> { ["d"] = new() { Address = upstream } } }]);
        var app = builder.Build();
        app.MapReverseProxy();
        app.Run();
        break;
    }

    case "faults":
        Environment.ExitCode = await FaultSoak.RunAsync(builder.Configuration);
        break;

    case "soak":
        Environment.ExitCode = await Soak.RunAsync(builder.Configuration["target"]!, int.Parse(builder.Configuration["requests"] ?? "100000"), int.Parse(builder.Configuration["pid"]!));
        break;

    default:
        throw new ArgumentException($"Unknown mode '{mode}'.");
}

static async Task Reply(HttpContext http, byte[] body)
{
    // Drain the request as a real provider would before answering.
    var reader = http.Request.BodyReader;
    while (true)
    {
        var result = await reader.ReadAsync();
        reader.AdvanceTo(result.Buffer.End);
        if (result.IsCompleted)
        {
            break;
        }
    }

    http.Response.ContentType = "application/json";
    http.Response.ContentLength = body.Length;
    await http.Response.Body.WriteAsync(body);
}
