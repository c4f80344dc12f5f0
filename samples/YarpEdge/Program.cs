// An existing YARP edge that adds LLM routes beside its ordinary proxied routes.
// - /api/{**rest}            ordinary route, forwarded untouched to a backend (here: this app's /backend).
// - /llm/v1/chat/completions OpenAI callers  → the "openai" cluster (needs OPENAI_API_KEY).
// - /llm/v1/messages         Anthropic callers → the "openai" cluster, translated to OpenAI Chat Completions.
// - /demo/v1/messages        Anthropic callers → an OpenAI-compatible server with no key: this app's own
//                            /local gateway, answering through the built-in simulated provider.
// All routes, clusters and LLM metadata live in appsettings.json ("ReverseProxy" section).
var builder = WebApplication.CreateBuilder(args);

builder.Services.AddReverseProxy()
    .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
    .AddLlmTransforms();

var app = builder.Build();
app.MapGet("/backend/{**rest}", (string? rest) => Results.Json(new { backend = "ordinary service", path = rest }));
app.MapLlmGateway("/local");
app.MapReverseProxy();
app.Run();
