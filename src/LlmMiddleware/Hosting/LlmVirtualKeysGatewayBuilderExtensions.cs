using LlmMiddleware;
using LlmMiddleware.Governance;
using LlmMiddleware.Pipeline;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers virtual keys.</summary>
public static class LlmVirtualKeysGatewayBuilderExtensions
{
    /// <summary>
    /// Requires a virtual key on every LLM call (bound to <c>LlmGateway:VirtualKeys</c>): the default pipeline checks it
    /// right after metering, so refusals are recorded and nothing past it — hooks, the cache, the router — runs for a
    /// caller without one. Keys live in an in-memory store unless an <see cref="ILlmVirtualKeyStore"/> is registered;
    /// issue and revoke them with <see cref="LlmVirtualKeys"/>.
    /// </summary>
    public static ILlmGatewayBuilder AddVirtualKeys(this ILlmGatewayBuilder builder, Action<LlmVirtualKeyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<LlmVirtualKeyOptions>();
        if (!services.Any(d => d.ServiceType == typeof(VirtualKeyIndex)))
        {
            options.BindConfiguration(LlmVirtualKeyOptions.SectionName).ValidateOnStart();
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmVirtualKeyOptions>, LlmVirtualKeyOptionsValidator>());
        services.TryAddSingleton<ILlmVirtualKeyStore, InMemoryVirtualKeyStore>();
        services.TryAddSingleton<VirtualKeyIndex>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, VirtualKeyIndex>(sp => sp.GetRequiredService<VirtualKeyIndex>()));
        services.TryAddSingleton(sp => new LlmVirtualKeys(sp.GetRequiredService<ILlmVirtualKeyStore>(), sp.GetRequiredService<VirtualKeyIndex>(), sp.GetRequiredService<IOptions<LlmVirtualKeyOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddKeyedSingleton<LlmCallStage>(BuiltInStages.VirtualKeys, static (sp, _) => new VirtualKeysStage(sp.GetRequiredService<VirtualKeyIndex>()));
        return builder;
    }
}
