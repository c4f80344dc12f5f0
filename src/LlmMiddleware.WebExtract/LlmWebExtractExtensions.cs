using LlmMiddleware;
using LlmMiddleware.Gateway;
using LlmMiddleware.WebExtract;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers and maps the web extract endpoint.</summary>
public static class LlmWebExtractExtensions
{
    /// <summary>Adds web extract (bound to <c>LlmGateway:WebExtract</c>); map it with <see cref="MapLlmWebExtract"/>.</summary>
    public static ILlmGatewayBuilder AddWebExtract(this ILlmGatewayBuilder builder, Action<LlmWebExtractOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<LlmWebExtractOptions>().BindConfiguration(LlmWebExtractOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.Timeout > TimeSpan.Zero, "LlmGateway:WebExtract:Timeout must be positive.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.AddSingleton<WebExtractEndpoint>();
        return builder;
    }

    /// <summary>
    /// Maps <c>POST {pattern}</c>: fetches an allow-listed URL and answers its readable text and token count. Map it
    /// where callers with a virtual key may reach it (it runs the call pipeline: keys, limits, metering).
    /// </summary>
    public static IEndpointConventionBuilder MapLlmWebExtract(this IEndpointRouteBuilder endpoints, string pattern = "/v1/extract")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var extract = endpoints.ServiceProvider.GetService<WebExtractEndpoint>()
            ?? throw new InvalidOperationException("Unable to find the web extract services. Call AddLlmGateway().AddWebExtract() before app.MapLlmWebExtract().");
        var framing = endpoints.ServiceProvider.GetRequiredService<CallFraming>();
        return endpoints.MapPost(pattern, http => extract.HandleAsync(http, framing));
    }
}
