using LlmMiddleware;
using LlmMiddleware.Governance;
using LlmMiddleware.Governance.Limits;
using LlmMiddleware.Identity;
using LlmMiddleware.Pipeline;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers rate limits.</summary>
public static class LlmRateLimitsGatewayBuilderExtensions
{
    /// <summary>
    /// Limits requests per minute, tokens per minute and calls at once per key, team, user, app, tag, model and model
    /// group (bound to <c>LlmGateway:RateLimits</c>), plus any <see cref="System.Threading.RateLimiting.PartitionedRateLimiter{TResource}"/>
    /// the host adds to <see cref="LlmRateLimitOptions.Limiters"/>: the default pipeline checks them after the response
    /// cache. Change limits at run time with <see cref="LlmRateLimits"/>.
    /// </summary>
    public static ILlmGatewayBuilder AddRateLimits(this ILlmGatewayBuilder builder, Action<LlmRateLimitOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<LlmRateLimitOptions>();
        if (!services.Any(d => d.ServiceType == typeof(LlmRateLimits)))
        {
            options.BindConfiguration(LlmRateLimitOptions.SectionName).ValidateOnStart();
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmRateLimitOptions>, LlmRateLimitOptionsValidator>());
        services.TryAddSingleton<RateLimitRefusals>();
        services.TryAddSingleton<ILimitCounters>(static sp => new InMemoryLimitCounters(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<LlmRateLimitOptions>>().Value;
            var book = new LimitBook();
            book.Replace(options.Rules);
            return new LlmRateLimits(book, sp.GetRequiredService<ILimitCounters>(), options, sp.GetRequiredService<TimeProvider>(), sp.GetService<ILlmGovernanceRuleStore>());
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, GovernanceRuleSync>());
        services.TryAddKeyedSingleton<LlmCallStage>(BuiltInStages.RateLimits, static (sp, _) => new RateLimitsStage(
            sp.GetRequiredService<LlmRateLimits>(), sp.GetRequiredService<CallerIdentities>(), sp.GetRequiredService<RateLimitRefusals>()));
        return builder;
    }
}
