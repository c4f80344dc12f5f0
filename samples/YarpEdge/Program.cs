// An existing YARP edge that adds LLM routes beside its ordinary proxied routes.
// - /api/{**rest}            ordinary route, forwarded untouched to a backend (here: this app's /backend).
// - /llm/v1/chat/completions OpenAI callers  → the "openai" cluster (needs OPENAI_API_KEY).
// - /llm/v1/messages         Anthropic callers → the "openai" cluster, translated to OpenAI Chat Completions.
// - /demo/v1/messages        Anthropic callers → an OpenAI-compatible server with no key: this app's own
//                            /local gateway, answering through the built-in simulated provider.
// All routes, clusters and LLM metadata live in appsettings.json ("ReverseProxy" section). The "local" cluster and
// provider point at this app itself on its default address: change them too if you change the listen address.
var builder = WebApplication.CreateBuilder(args);

// --urls and ASPNETCORE_URLS choose the listen address; this is only the default.
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5090");
}

builder.Services.AddReverseProxy()
    .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
    .AddLlmTransforms();

var app = builder.Build();
app.MapGet("/backend/{**rest}", (string? rest) => Results.Json(new { backend = "ordinary service", path = rest }));
app.MapLlmGateway("/local");
// YARP's usual proxy pipeline with the LLM call pipeline in front: LLM routes get the gateway's framing, stages,
// hooks, cache and metering around YARP's own forwarding; ordinary routes pass through it untouched.
app.MapReverseProxy(proxy =>
{
    proxy.UseLlmPipeline();
    proxy.UseSessionAffinity();
    proxy.UseLoadBalancing();
    proxy.UsePassiveHealthChecks();
});
app.Run();
