using LlmMiddleware;
using LlmMiddleware.Caching;
using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Yarp;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Yarp.ReverseProxy.Transforms;

/// <summary>Code-driven LLM routes: <c>AddTransforms(ctx =&gt; ctx.AddLlmTranslation(...))</c> and <c>RouteConfig.WithLlm(...)</c>.</summary>
public static class LlmTransformExtensions
{
    /// <summary>
    /// Makes the route an LLM route: callers speak <paramref name="inbound"/>, the cluster is <paramref name="provider"/>
    /// (a provider name from the gateway configuration; its destination address is the provider's base URL).
    /// </summary>
    /// <param name="context">The transform builder context.</param>
    /// <param name="inbound">The protocol callers of this route speak.</param>
    /// <param name="provider">The provider the cluster points at.</param>
    /// <param name="model">Optional upstream model that overrides the caller's choice.</param>
    /// <param name="cachePolicy">Optional named cache policy (<c>LlmGateway:Cache:Policies</c>, or <c>off</c>); the default policy otherwise.</param>
    public static TransformBuilderContext AddLlmTranslation(this TransformBuilderContext context, LlmProtocol inbound, string provider, string? model = null, string? cachePolicy = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.AddLlmTranslation(Framing(context), inbound, provider, model, cachePolicy);
    }

    internal static TransformBuilderContext AddLlmTranslation(this TransformBuilderContext context, CallFraming framing, LlmProtocol inbound, string provider, string? model, string? cachePolicy)
    {
        if (!framing.Registry.TryGetProvider(provider, out var endpoint))
        {
            throw new InvalidOperationException($"Route '{context.Route.RouteId}': unknown LLM provider '{provider}'.");
        }

        var transform = new LlmYarpTransform(framing, inbound, endpoint, model, PolicyNamed(context, framing, cachePolicy));
        context.Services.GetService<LlmYarpRoutes>()?.Set(context.Route.RouteId, transform);
        context.AddRequestTransform(transform.TransformRequestAsync);
        context.AddResponseTransform(transform.TransformResponseAsync);
        return context;
    }

    /// <summary>
    /// Makes the route an LLM route served by model group <paramref name="group"/>: its calls run the gateway's pipeline
    /// and router (fallbacks, retries, cooldowns, racing) exactly as on the gateway endpoints, and are not forwarded
    /// by YARP (the route's cluster is not used).
    /// </summary>
    /// <param name="context">The transform builder context.</param>
    /// <param name="inbound">The protocol callers of this route speak.</param>
    /// <param name="group">A model group from <c>LlmGateway:Groups</c>.</param>
    /// <param name="cachePolicy">Optional named cache policy (<c>LlmGateway:Cache:Policies</c>, or <c>off</c>); the default policy otherwise.</param>
    public static TransformBuilderContext AddLlmGroup(this TransformBuilderContext context, LlmProtocol inbound, string group, string? cachePolicy = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.AddLlmGroup(Framing(context), inbound, group, cachePolicy);
    }

    internal static TransformBuilderContext AddLlmGroup(this TransformBuilderContext context, CallFraming framing, LlmProtocol inbound, string group, string? cachePolicy)
    {
        if (!framing.IsGroup(group))
        {
            throw new InvalidOperationException($"Route '{context.Route.RouteId}': unknown LLM model group '{group}'.");
        }

        // The whole call runs here and writes the response; YARP does not forward a request whose response has started.
        var policy = new RouteCachePolicy(PolicyNamed(context, framing, cachePolicy));
        context.AddRequestTransform(transform => new ValueTask(framing.HandleGroupRouteAsync(transform.HttpContext, inbound, group, policy)));
        return context;
    }

    /// <summary>Marks a route as an LLM route served by model group <paramref name="group"/> through metadata (the
    /// config-driven form, in code); see <see cref="AddLlmGroup(TransformBuilderContext, LlmProtocol, string, string?)"/>.</summary>
    public static RouteConfig WithLlmGroup(this RouteConfig route, LlmProtocol inbound, string group, string? cachePolicy = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        var marked = route.WithLlm(inbound, cachePolicy: cachePolicy);
        return marked with { Metadata = new Dictionary<string, string>(marked.Metadata!, StringComparer.OrdinalIgnoreCase) { [LlmMetadataKeys.Group] = group } };
    }

    private static CallFraming Framing(TransformBuilderContext context) => context.Services.GetService<CallFraming>()
        ?? throw new InvalidOperationException("Unable to find the LLM gateway services. Call AddReverseProxy().AddLlmTransforms().");

    /// <summary>The route's cache policy, by name (<see langword="null"/> for the default); an unknown name stops the route.</summary>
    private static ResolvedCachePolicy? PolicyNamed(TransformBuilderContext context, CallFraming framing, string? cachePolicy) =>
        cachePolicy is null || framing.Cache.IsKnownPolicy(cachePolicy)
            ? framing.Cache.PolicyNamed(cachePolicy)
            : throw new InvalidOperationException($"Route '{context.Route.RouteId}': unknown LLM cache policy '{cachePolicy}'.");

    /// <summary>Marks a route as an LLM route through metadata (the config-driven form, in code).</summary>
    public static RouteConfig WithLlm(this RouteConfig route, LlmProtocol inbound, string? provider = null, string? model = null, string? cachePolicy = null)
    {
        ArgumentNullException.ThrowIfNull(route);
        var metadata = new Dictionary<string, string>(route.Metadata ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase)
        {
            [LlmMetadataKeys.InboundProtocol] = LlmCodec.For(inbound) is { IsCallerProtocol: true } codec && Enum.IsDefined(inbound) ? codec.Name : throw new ArgumentOutOfRangeException(nameof(inbound), "Callers speak OpenAI or Anthropic."),
        };
        if (provider is not null)
        {
            metadata[LlmMetadataKeys.Provider] = provider;
        }

        if (model is not null)
        {
            metadata[LlmMetadataKeys.Model] = model;
        }

        if (cachePolicy is not null)
        {
            metadata[LlmMetadataKeys.CachePolicy] = cachePolicy;
        }

        return route with { Metadata = metadata };
    }
}
