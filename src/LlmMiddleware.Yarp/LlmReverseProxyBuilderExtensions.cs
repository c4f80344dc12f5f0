using LlmMiddleware.Yarp;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds LLM translation to YARP.</summary>
public static class LlmReverseProxyBuilderExtensions
{
    /// <summary>
    /// Registers the LLM gateway services (if not yet registered) and a transform provider that turns every route whose
    /// metadata carries <c>Llm.InboundProtocol</c> into an LLM route. Other routes are untouched.
    /// </summary>
    public static IReverseProxyBuilder AddLlmTransforms(this IReverseProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddLlmGateway();
        builder.Services.TryAddSingleton<LlmYarpRoutes>();
        builder.AddTransforms<LlmTransformProvider>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, LlmForwarderErrorStartupFilter>());
        return builder;
    }
}
