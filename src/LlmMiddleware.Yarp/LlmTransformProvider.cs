using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Providers;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace LlmMiddleware.Yarp;

/// <summary>
/// Turns YARP routes marked with <see cref="LlmMetadataKeys.InboundProtocol"/> into LLM routes; other routes are
/// left alone. Route and cluster metadata are validated when the proxy configuration loads, so a typo stops start-up.
/// </summary>
internal sealed class LlmTransformProvider(CallFraming framing) : ITransformProvider
{
    private static readonly HashSet<string> KnownKeys = new(StringComparer.OrdinalIgnoreCase) { LlmMetadataKeys.InboundProtocol, LlmMetadataKeys.Provider, LlmMetadataKeys.Model, LlmMetadataKeys.Group, LlmMetadataKeys.CachePolicy, LlmMetadataKeys.Task };

    public void ValidateRoute(TransformRouteValidationContext context)
    {
        var metadata = context.Route.Metadata;
        if (metadata is null || !metadata.Keys.Any(k => k.StartsWith(LlmMetadataKeys.Prefix, StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        foreach (var key in metadata.Keys.Where(k => k.StartsWith(LlmMetadataKeys.Prefix, StringComparison.OrdinalIgnoreCase) && !KnownKeys.Contains(k)))
        {
            context.Errors.Add(new ArgumentException($"Route '{context.Route.RouteId}': unknown LLM metadata key '{key}'. Known keys: {string.Join(", ", KnownKeys)}."));
        }

        if (!metadata.TryGetValue(LlmMetadataKeys.InboundProtocol, out var inbound) || !TryParseProtocol(inbound, out _))
        {
            context.Errors.Add(new ArgumentException($"Route '{context.Route.RouteId}': metadata '{LlmMetadataKeys.InboundProtocol}' must be 'openai' or 'anthropic' (got '{inbound}')."));
        }

        if (metadata.TryGetValue(LlmMetadataKeys.Group, out var group))
        {
            if (!framing.IsGroup(group))
            {
                context.Errors.Add(new ArgumentException($"Route '{context.Route.RouteId}': metadata '{LlmMetadataKeys.Group}' names unknown model group '{group}'. Configure it under LlmGateway:Groups."));
            }

            if (metadata.ContainsKey(LlmMetadataKeys.Provider) || metadata.ContainsKey(LlmMetadataKeys.Model))
            {
                context.Errors.Add(new ArgumentException($"Route '{context.Route.RouteId}': a route served by a model group ('{LlmMetadataKeys.Group}') names no '{LlmMetadataKeys.Provider}' or '{LlmMetadataKeys.Model}'."));
            }
        }

        if (metadata.TryGetValue(LlmMetadataKeys.Provider, out var provider))
        {
            ValidateProvider(provider, $"Route '{context.Route.RouteId}'", context.Errors);
        }

        if (metadata.TryGetValue(LlmMetadataKeys.CachePolicy, out var policy) && !framing.Cache.IsKnownPolicy(policy))
        {
            context.Errors.Add(new ArgumentException($"Route '{context.Route.RouteId}': metadata '{LlmMetadataKeys.CachePolicy}' names unknown cache policy '{policy}'. Configure it under LlmGateway:Cache:Policies, or use 'off'."));
        }
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
        if (context.Cluster.Metadata is { } metadata && metadata.TryGetValue(LlmMetadataKeys.Provider, out var provider))
        {
            ValidateProvider(provider, $"Cluster '{context.Cluster.ClusterId}'", context.Errors);
        }
    }

    public void Apply(TransformBuilderContext context)
    {
        var metadata = context.Route.Metadata;
        if (metadata is null || !metadata.TryGetValue(LlmMetadataKeys.InboundProtocol, out var inboundValue) || !TryParseProtocol(inboundValue, out var inbound))
        {
            return;
        }

        if (metadata.TryGetValue(LlmMetadataKeys.Task, out var task))
        {
            var label = new LlmTaskAttribute(task); // read when the call begins, in the transforms below
            context.AddRequestTransform(transform =>
            {
                transform.HttpContext.Features.Set(label);
                return ValueTask.CompletedTask;
            });
        }

        if (metadata.TryGetValue(LlmMetadataKeys.Group, out var group))
        {
            context.AddLlmGroup(framing, inbound, group, metadata.GetValueOrDefault(LlmMetadataKeys.CachePolicy));
            return;
        }

        var providerName = metadata.GetValueOrDefault(LlmMetadataKeys.Provider) ?? context.Cluster?.Metadata?.GetValueOrDefault(LlmMetadataKeys.Provider)
            ?? throw new InvalidOperationException(
                $"Route '{context.Route.RouteId}' is an LLM route but neither it nor cluster '{context.Route.ClusterId}' names a provider in metadata '{LlmMetadataKeys.Provider}'.");
        context.AddLlmTranslation(framing, inbound, providerName, metadata.GetValueOrDefault(LlmMetadataKeys.Model), metadata.GetValueOrDefault(LlmMetadataKeys.CachePolicy));
    }

    internal static bool TryParseProtocol(string? value, out LlmProtocol protocol)
    {
        protocol = LlmCodec.TryParseCaller(value, out var codec) ? codec.Protocol : default;
        return codec is not null;
    }

    private void ValidateProvider(string provider, string owner, IList<Exception> errors)
    {
        if (!framing.Registry.TryGetProvider(provider, out _))
        {
            errors.Add(new ArgumentException($"{owner}: metadata '{LlmMetadataKeys.Provider}' names unknown provider '{provider}'. Known providers: {string.Join(", ", framing.Registry.Providers.Select(p => p.Name).Order())}."));
        }
    }
}
