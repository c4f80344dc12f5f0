using LlmMiddleware;
using LlmMiddleware.Caching;
using LlmMiddleware.Caching.Semantic;
using LlmMiddleware.Catalog;
using LlmMiddleware.Endpoints;
using LlmMiddleware.Gateway;
using LlmMiddleware.Metering;
using LlmMiddleware.Pipeline;
using LlmMiddleware.Providers;
using LlmMiddleware.Racing;
using LlmMiddleware.Routing;
using LlmMiddleware.Telemetry;
using LlmMiddleware.Upstream;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the LLM gateway.</summary>
public static class LlmGatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the LLM gateway services, bound to the <c>LlmGateway</c> configuration section. Configuration is validated
    /// at start-up. Calling it again only applies <paramref name="configure"/>.
    /// </summary>
    public static ILlmGatewayBuilder AddLlmGateway(this IServiceCollection services, Action<LlmGatewayOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<LlmGatewayOptions>();
        if (!services.Any(d => d.ServiceType == typeof(CallFraming)))
        {
            options.BindConfiguration(LlmGatewayOptions.SectionName).ValidateOnStart();
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmGatewayOptions>, LlmGatewayOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<LlmProviderRegistry>();
        services.AddMetrics();
        services.TryAddSingleton<LlmGatewayTelemetry>();
        services.TryAddSingleton<LlmUsageMetrics>();
        services.TryAddSingleton<RemoteImageInliner>();
        services.TryAddSingleton<LlmModelCatalog>();
        services.TryAddSingleton<LlmMiddleware.Guardrails.OutputGuards>();
        services.TryAddSingleton<LlmRouter>();
        // The response cache runs on its own HybridCache (a bounded L1, the host's IDistributedCache as L2, stampede
        // protection) unless the host registers one under the cache's key.
        services.AddOptions<Microsoft.Extensions.Caching.Hybrid.HybridCacheOptions>();
        services.TryAddSingleton<GatewayHybridCache>();
        services.TryAddKeyedSingleton(LlmCacheOptions.HybridCacheKey, (sp, _) => sp.GetRequiredService<GatewayHybridCache>().Cache);
        services.TryAddSingleton<Microsoft.Extensions.Caching.Hybrid.IHybridCacheSerializer<LlmCacheEntry>>(LlmCacheEntrySerializer.Instance);
        services.TryAddSingleton<LlmSemanticCache>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LlmSemanticCache>(sp => sp.GetRequiredService<LlmSemanticCache>()));
        services.TryAddSingleton<LlmResponseCache>();
        services.TryAddSingleton<LlmSpendAggregator>();
        services.TryAddSingleton<ILlmSpendReport>(static sp => sp.GetRequiredService<LlmSpendAggregator>());
        services.TryAddSingleton<LlmTrafficAggregator>();
        services.TryAddSingleton<ILlmTrafficReport>(static sp => sp.GetRequiredService<LlmTrafficAggregator>());
        services.TryAddSingleton<LlmCallRecordDispatcher>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LlmCallRecordDispatcher>(sp => sp.GetRequiredService<LlmCallRecordDispatcher>()));
        services.TryAddSingleton<LlmTokenizers>();
        services.TryAddSingleton<LlmMiddleware.Identity.CallerIdentities>();
        services.TryAddSingleton<LlmMeter>();
        services.AddOptions<LlmCallPipelineOptions>();
        services.TryAddSingleton<MeteringStage>();
        services.TryAddKeyedSingleton<LlmCallStage>(BuiltInStages.Metering, static (sp, _) => sp.GetRequiredService<MeteringStage>());
        services.TryAddSingleton<HooksStage>();
        services.TryAddSingleton<ResponseCacheStage>();
        services.TryAddKeyedSingleton<LlmCallStage>(BuiltInStages.ResponseCache, static (sp, _) => sp.GetRequiredService<ResponseCacheStage>());
        services.TryAddSingleton<LlmCallPipeline>();
        services.TryAddSingleton<CallPreparation>();
        services.TryAddSingleton<RaceRunner>();
        services.TryAddSingleton<UpstreamSender>();
        services.TryAddSingleton<CallFraming>();
        services.TryAddSingleton<GatewayEmbedderFactory>(sp => model => new GatewayEmbeddingGenerator(sp, sp.GetRequiredService<CallFraming>(), model));
        return new LlmGatewayBuilder(services);
    }

    /// <summary>Adds a hook that runs around every LLM call, in registration order.</summary>
    public static ILlmGatewayBuilder AddHook<THook>(this ILlmGatewayBuilder builder)
        where THook : LlmGatewayHook
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<LlmGatewayHook, THook>());
        return builder;
    }

    /// <summary>Adds a hook instance that runs around every LLM call, in registration order.</summary>
    public static ILlmGatewayBuilder AddHook(this ILlmGatewayBuilder builder, LlmGatewayHook hook)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(hook);
        return builder;
    }

    /// <summary>Adds a routing hook that vetoes or re-ranks model-group deployments per request, in registration order.</summary>
    public static ILlmGatewayBuilder AddRoutingHook<THook>(this ILlmGatewayBuilder builder)
        where THook : LlmRoutingHook
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<LlmRoutingHook, THook>());
        return builder;
    }

    /// <summary>Adds or replaces a model group in code.</summary>
    public static ILlmGatewayBuilder AddGroup(this ILlmGatewayBuilder builder, string name, LlmRoutingStrategy strategy, params LlmDeploymentOptions[] deployments)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<LlmGatewayOptions>(o => o.AddGroup(name, new LlmModelGroupOptions { Strategy = strategy, Deployments = [.. deployments] }));
        return builder;
    }

    /// <summary>Adds or replaces a provider in code.</summary>
    public static ILlmGatewayBuilder AddProvider(this ILlmGatewayBuilder builder, string name, Action<LlmProviderOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<LlmGatewayOptions>(o =>
        {
            var provider = o.Providers.TryGetValue(name, out var existing) ? existing : new LlmProviderOptions();
            configure(provider);
            o.Providers[name] = provider;
        });
        return builder;
    }

    /// <summary>
    /// Adds a destination for call records (a ledger, a billing export). Records reach it in batches, off the request
    /// path; see <see cref="ILlmCallRecordSink"/>.
    /// </summary>
    public static ILlmGatewayBuilder AddCallRecordSink<TSink>(this ILlmGatewayBuilder builder)
        where TSink : class, ILlmCallRecordSink
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILlmCallRecordSink, TSink>());
        return builder;
    }

    /// <summary>
    /// Sets a model's price in code, overriding the built-in catalog (and configuration bound before this call). An
    /// undated price replaces the built-in prices; one with <see cref="LlmModelPricing.EffectiveFrom"/> is added to
    /// the model's price history.
    /// </summary>
    public static ILlmGatewayBuilder SetPrice(this ILlmGatewayBuilder builder, string provider, string model, LlmModelPricing pricing)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(pricing);
        builder.Services.Configure<LlmGatewayOptions>(o =>
        {
            var entry = o.Catalog.TryGetValue(provider + "/" + model, out var existing) ? existing : o.Catalog[provider + "/" + model] = new LlmModelInfo();
            if (pricing.EffectiveFrom is null)
            {
                entry.Pricing = pricing;
            }
            else
            {
                entry.Prices.Add(pricing);
            }
        });
        return builder;
    }

    /// <summary>Adds or replaces a model alias in code.</summary>
    public static ILlmGatewayBuilder AddModel(this ILlmGatewayBuilder builder, string alias, string provider, string model)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<LlmGatewayOptions>(o => o.AddModel(alias, provider, model));
        return builder;
    }

    /// <summary>
    /// Counts the tokens of <paramref name="provider"/>'s models (or, with a <c>provider/model</c> name, of one model)
    /// with <paramref name="tokenizer"/> wherever the gateway counts a call to them: prompts and delivered output the
    /// provider did not report, race losers, embeddings inputs. Call records name it <paramref name="name"/>. Without a
    /// registration, OpenAI models count with their tiktoken encoding and every other model with o200k_base, as an
    /// estimate; so does the router's "fits", which counts once, before a deployment is chosen.
    /// </summary>
    /// <example><c>.AddTokenizer("vllm", LlamaTokenizer.Create(File.OpenRead("tokenizer.model")), "llama-3.1")</c></example>
    public static ILlmGatewayBuilder AddTokenizer(this ILlmGatewayBuilder builder, string provider, Microsoft.ML.Tokenizers.Tokenizer tokenizer, string name)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return builder.AddTokenizer(provider, _ => tokenizer, name);
    }

    /// <summary>Counts with the tokenizer <paramref name="factory"/> creates (once, at start-up); see the other overload.</summary>
    public static ILlmGatewayBuilder AddTokenizer(this ILlmGatewayBuilder builder, string provider, Func<IServiceProvider, Microsoft.ML.Tokenizers.Tokenizer> factory, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(provider);
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var slash = provider.IndexOf('/');
        builder.Services.AddSingleton(new LlmTokenizerRegistration(slash < 0 ? provider : provider[..slash], slash < 0 ? null : provider[(slash + 1)..], name, factory));
        return builder;
    }
}
