// A standalone LLM gateway. With no provider keys it answers through the built-in simulated provider; set
// OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY and the "default" alias goes to that provider instead.
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(args);

// --urls and ASPNETCORE_URLS choose the listen address; this is only the default.
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5080");
}

var defaultModel = builder.Configuration["OPENAI_API_KEY"] is { Length: > 0 } ? ("openai", "gpt-4o-mini")
    : builder.Configuration["ANTHROPIC_API_KEY"] is { Length: > 0 } ? ("anthropic", "claude-sonnet-4-5")
    : builder.Configuration["GEMINI_API_KEY"] is { Length: > 0 } ? ("gemini", "gemini-2.5-flash")
    : ("simulated", "echo");

var gateway = builder.Services.AddLlmGateway(options =>
{
    if (!options.Models.ContainsKey("default"))
    {
        options.AddModel("default", defaultModel.Item1, defaultModel.Item2);
    }
});

// Virtual keys: every call needs one (OpenAI SDKs send it as "Authorization: Bearer", Anthropic SDKs as "x-api-key").
// appsettings.json ships a demo key; replace it (or list SecretHash instead of Secret) before exposing the gateway.
// --LlmGateway:VirtualKeys:Enabled=false serves callers without a key. Budgets and rate limits per key, team, user,
// app, tag, model or group come from LlmGateway:Budgets and LlmGateway:RateLimits (none by default) or the admin API.
var demoKey = builder.Configuration["LlmGateway:VirtualKeys:Keys:demo:Secret"];
if (builder.Configuration.GetValue("LlmGateway:VirtualKeys:Enabled", true) && builder.Configuration.GetSection("LlmGateway:VirtualKeys:Keys").GetChildren().Any())
{
    gateway.AddVirtualKeys().AddRateLimits().AddBudgets();
    if (builder.Configuration["LlmGateway:GovernanceStore:ConnectionString"] is { Length: > 0 })
    {
        gateway.AddRedisGovernance(); // budgets and limits shared by every instance through Redis
    }
}
else
{
    demoKey = null;
}

// Experiments: a call naming an experiment's model is served by one of its arms, split by weight and sticky per key.
// appsettings.json ships one over the simulated provider: call the model "demo-experiment" and see x-llm-arm.
gateway.AddExperiments();

// Every call is metered; with LlmGateway:Ledger:ConnectionString set, records are also kept in PostgreSQL.
if (builder.Configuration["LlmGateway:Ledger:ConnectionString"] is { Length: > 0 })
{
    gateway.AddPostgreSqlLedger();
}

// Response caching is off unless LlmGateway:Cache:Mode is Exact or Semantic (e.g. --LlmGateway:Cache:Mode=Exact);
// with LlmGateway:CacheStore:ConnectionString set, instances share cached answers through PostgreSQL, or through
// Redis with LlmGateway:CacheStore:Kind=Redis.
if (builder.Configuration["LlmGateway:CacheStore:ConnectionString"] is { Length: > 0 })
{
    if (string.Equals(builder.Configuration["LlmGateway:CacheStore:Kind"], "Redis", StringComparison.OrdinalIgnoreCase))
    {
        gateway.AddRedisCache();
    }
    else
    {
        gateway.AddPostgreSqlCache();
    }
}

// OpenTelemetry: the gateway's metrics (meter "LlmMiddleware") and the runtime's (GC heap, threads: "System.Runtime")
// as Prometheus text at /metrics; and, when OTEL_EXPORTER_OTLP_ENDPOINT is set, metrics and traces (activity source
// "LlmMiddleware") over OTLP. Spans are recorded only then: with nowhere to go they would only cost. ASP.NET Core's own
// source is traced too: its request activity is the gateway span's parent, and an unrecorded parent would get the
// gateway's spans dropped by the default parent-based sampler.
var telemetry = builder.Services.AddOpenTelemetry()
    .WithMetrics(metrics => metrics.AddMeter("LlmMiddleware", "System.Runtime").AddPrometheusExporter());
if (builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 })
{
    telemetry.WithTracing(tracing => tracing.AddSource("LlmMiddleware", "Microsoft.AspNetCore")).UseOtlpExporter();
}

// Operator endpoints — the admin API, the dashboard, who spent what, deployment health — answer only to the operator
// key (LlmGateway:OperatorKey): a bearer token, or the password of user "operator" in a browser. Without one, each run
// makes up a demo key and shows it on the start page to local visitors (see Operators.cs).
var operators = new Operators(builder.Configuration);
builder.Services.AddAuthorization(o => o.AddPolicy(Operators.Policy, p => p.RequireAssertion(c => c.Resource is HttpContext http && operators.Admit(http))));

var app = builder.Build();
var note = defaultModel.Item1 == "simulated" ? " (built-in simulated provider: no model is called; set a provider key for real answers)" : "";
var key = demoKey ?? "any";
app.MapGet("/", (HttpContext http) => Results.Text($$"""
    LlmMiddleware gateway sample.
    The "default" model is served by {{defaultModel.Item1}}/{{defaultModel.Item2}}{{note}}.
    {{(demoKey is null ? "No key needed." : $"Demo key: {demoKey}")}}
    OpenAI SDK base URL:    <this host>/v1
    Anthropic SDK base URL: <this host>
    Try: curl -s <this host>/v1/chat/completions -H 'authorization: Bearer {{key}}' -H 'content-type: application/json' -d '{"model":"default","messages":[{"role":"user","content":"Hello"}]}'
    Dashboard: <this host>/llm/dashboard — {{(operators.DemoKey is null ? "sign in as user 'operator' with the operator key."
        : System.Net.IPAddress.IsLoopback(http.Connection.RemoteIpAddress ?? System.Net.IPAddress.None) ? $"demo credentials: user {Operators.User}, password {operators.DemoKey} (made up for this run)."
        : "its demo credentials are shown to local visitors only.")}}
    {{(demoKey is null ? "" : "Issue keys, set budgets and limits: <this host>/llm/admin/keys, /budgets, /limits (the operator key as a bearer token).")}}
    """));
app.MapLlmGateway();

// The policy guards the operator endpoints; before it, everything under /llm without the key gets a plain 401.
operators.Guard(app);
app.UseAuthorization(); // after the 401 above (left to itself, the host would run it first)
app.MapLlmAdmin("/llm/admin", Operators.Policy); // keys, budgets, limits, spend, traffic, experiments
app.MapLlmDashboard("/llm/dashboard", Operators.Policy); // spend, latency, cache, routing, health, experiments, keys

app.MapLlmSpend(); // GET /llm/spend?groupBy=model|key|team|user|app|day
app.MapLlmDeploymentHealth(); // GET /llm/deployments
app.MapPrometheusScrapingEndpoint(); // GET /metrics

// On the simulated provider, a few dozen calls as soon as it listens, so the dashboard has something to show.
if (defaultModel.Item1 == "simulated" && builder.Configuration.GetValue("Demo:Traffic", true))
{
    DemoTraffic.SendWhenStarted(app, demoKey);
}

app.Run();
