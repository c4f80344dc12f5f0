using LlmMiddleware.Endpoints;
using LlmMiddleware;
using LlmMiddleware.Gateway;
using LlmMiddleware.Providers;
using LlmMiddleware.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the LLM gateway's HTTP surfaces.</summary>
public static class LlmGatewayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST {prefix}/v1/chat/completions</c> and <c>POST {prefix}/v1/responses</c> (OpenAI), <c>POST {prefix}/v1/messages</c> and
    /// <c>POST {prefix}/v1/messages/count_tokens</c> (Anthropic), <c>GET {prefix}/v1/models</c> and
    /// <c>POST {prefix}/v1/embeddings</c>. The returned builder applies conventions
    /// (authorization, rate limiting, CORS, ...) to all of them.
    /// </summary>
    public static RouteGroupBuilder MapLlmGateway(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var framing = endpoints.ServiceProvider.GetService<CallFraming>()
            ?? throw new InvalidOperationException("Unable to find the LLM gateway services. Call services.AddLlmGateway() before app.MapLlmGateway().");
        var registry = endpoints.ServiceProvider.GetRequiredService<LlmProviderRegistry>();
        var router = endpoints.ServiceProvider.GetRequiredService<LlmRouter>();
        var keys = endpoints.ServiceProvider.GetService<LlmMiddleware.Governance.VirtualKeyIndex>();

        // Plain request delegates: no model binding on the hot path.
        var group = endpoints.MapGroup(prefix);
        group.MapPost("/v1/chat/completions", http => framing.HandleChatAsync(http, LlmProtocol.OpenAIChat));
        group.MapPost("/v1/messages", http => framing.HandleChatAsync(http, LlmProtocol.AnthropicMessages));
        group.MapPost("/v1/responses", http => framing.HandleChatAsync(http, LlmProtocol.OpenAIResponses));
        group.MapPost("/v1/messages/count_tokens", http => CountTokensEndpoint.HandleAsync(http, framing, router, keys));
        group.MapGet("/v1/models", http => ModelsEndpoint.HandleAsync(http, registry, router, keys));
        group.MapPost("/v1/embeddings", http => EmbeddingsEndpoint.HandleAsync(http, framing));
        return group;
    }

    /// <summary>
    /// Maps a read-only JSON view of the model groups' deployments and their state (available or cooling down, in
    /// flight, latency averages) at <paramref name="pattern"/>. Map it where operators, not callers, can reach it.
    /// </summary>
    public static IEndpointConventionBuilder MapLlmDeploymentHealth(this IEndpointRouteBuilder endpoints, string pattern = "/llm/deployments")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var router = endpoints.ServiceProvider.GetService<LlmRouter>()
            ?? throw new InvalidOperationException("Unable to find the LLM gateway services. Call services.AddLlmGateway() before app.MapLlmDeploymentHealth().");
        var timeProvider = endpoints.ServiceProvider.GetRequiredService<TimeProvider>();
        return endpoints.MapGet(pattern, http => DeploymentHealthEndpoint.HandleAsync(http, router, timeProvider));
    }

    /// <summary>
    /// Maps a read-only JSON spend report of this instance's in-memory totals at <paramref name="pattern"/>:
    /// <c>GET {pattern}?groupBy=model|key|team|user|app|day&amp;from=yyyy-MM-dd&amp;to=yyyy-MM-dd</c>. Map it where
    /// operators, not callers, can reach it. (The admin API's <c>/spend</c> reports every instance's, from the ledger.)
    /// </summary>
    public static IEndpointConventionBuilder MapLlmSpend(this IEndpointRouteBuilder endpoints, string pattern = "/llm/spend")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var spend = endpoints.ServiceProvider.GetService<LlmSpendAggregator>()
            ?? throw new InvalidOperationException("Unable to find the LLM gateway services. Call services.AddLlmGateway() before app.MapLlmSpend().");
        return endpoints.MapGet(pattern, http => SpendEndpoint.HandleAsync(http, spend));
    }
}
