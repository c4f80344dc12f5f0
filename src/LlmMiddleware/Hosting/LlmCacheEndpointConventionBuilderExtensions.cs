using LlmMiddleware;
using LlmMiddleware.Caching;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Selects the response-cache policy of gateway endpoints.</summary>
public static class LlmCacheEndpointConventionBuilderExtensions
{
    /// <summary>Caches calls to these endpoints under the named policy from <c>LlmGateway:Cache:Policies</c>
    /// (<c>off</c> for no caching). An unknown name is an error when the endpoints are built.</summary>
    public static TBuilder WithLlmCachePolicy<TBuilder>(this TBuilder builder, string policyName)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new LlmCachePolicyMetadata(policyName);
        builder.Add(endpoint =>
        {
            if (endpoint.ApplicationServices.GetService<LlmResponseCache>() is { } cache && !cache.IsKnownPolicy(policyName))
            {
                throw new InvalidOperationException($"Endpoint '{endpoint.DisplayName}': unknown LLM cache policy '{policyName}'. Configure it under LlmGateway:Cache:Policies, or use '{LlmResponseCache.OffPolicy}'.");
            }

            endpoint.Metadata.Add(metadata);
        });
        return builder;
    }

    /// <summary>Caches calls to these endpoints under <paramref name="policy"/>.</summary>
    public static TBuilder WithLlmCachePolicy<TBuilder>(this TBuilder builder, LlmCachePolicy policy)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new LlmCachePolicyMetadata(policy);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
