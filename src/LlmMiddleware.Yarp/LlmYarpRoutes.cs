using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Model;

namespace LlmMiddleware.Yarp;

/// <summary>The current proxy configuration's single-provider LLM routes by route id, for <c>UseLlmPipeline()</c>.</summary>
internal sealed class LlmYarpRoutes
{
    private readonly ConcurrentDictionary<string, LlmYarpTransform> _routes = new(StringComparer.OrdinalIgnoreCase);

    public void Set(string routeId, LlmYarpTransform transform) => _routes[routeId] = transform;

    public LlmYarpTransform? Find(HttpContext http) =>
        http.Features.Get<IReverseProxyFeature>()?.Route.Config.RouteId is { } id && _routes.TryGetValue(id, out var transform) ? transform : null;
}
