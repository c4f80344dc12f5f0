using LlmMiddleware.Yarp;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Model;

namespace Microsoft.AspNetCore.Builder;

/// <summary>The LLM call pipeline as a step of YARP's proxy pipeline.</summary>
public static class LlmProxyPipelineExtensions
{
    /// <summary>
    /// Runs LLM routes on a single provider through the gateway's call pipeline — host stages, hooks, cache, metering,
    /// framing and span exactly as on the gateway endpoints — with YARP's forwarding (load balancing, health checks,
    /// destinations) as its last step. Place it before YARP's own steps:
    /// <c>app.MapReverseProxy(proxy =&gt; { proxy.UseLlmPipeline(); proxy.UseSessionAffinity(); proxy.UseLoadBalancing(); proxy.UsePassiveHealthChecks(); })</c>.
    /// Without it those routes run the hooks, cache and metering but not host stages. Other routes pass through.
    /// </summary>
    public static IReverseProxyApplicationBuilder UseLlmPipeline(this IReverseProxyApplicationBuilder proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        var routes = proxy.ApplicationServices.GetService<LlmYarpRoutes>()
            ?? throw new InvalidOperationException("Unable to find the LLM gateway services. Call AddReverseProxy().AddLlmTransforms().");
        proxy.Use((http, next) => routes.Find(http) is { } route ? route.RunProxiedAsync(http, next) : next());
        return proxy;
    }
}
