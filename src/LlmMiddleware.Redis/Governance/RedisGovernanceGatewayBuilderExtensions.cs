using LlmMiddleware;
using LlmMiddleware.Deployments;
using LlmMiddleware.Governance.Budgets;
using LlmMiddleware.Governance.Limits;
using LlmMiddleware.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Counts budgets and rate limits in Redis.</summary>
public static class RedisGovernanceGatewayBuilderExtensions
{
    /// <summary>
    /// Counts budgets (<c>AddBudgets()</c>) and rate limits (<c>AddRateLimits()</c>) in Redis, bound to
    /// <c>LlmGateway:GovernanceStore</c> and then <paramref name="configure"/>, so every instance shares them exactly:
    /// each call's admission is one Lua script per stage; deployments' <c>MaxConcurrency</c> and <c>RequestsPerMinute</c>
    /// hold across instances, and their cooldowns are shared (a deployment cooling down on one instance is skipped by all). While Redis is unreachable,
    /// <see cref="RedisGovernanceOptions.FailureMode"/> decides: refuse with 503, or check against this instance's share.
    /// </summary>
    public static ILlmGatewayBuilder AddRedisGovernance(this ILlmGatewayBuilder builder, Action<RedisGovernanceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<RedisGovernanceOptions>().BindConfiguration("LlmGateway:GovernanceStore").ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        var services = builder.Services;
        services.TryAddSingleton<RedisGovernance>();
        services.Replace(ServiceDescriptor.Singleton<IBudgetCounters>(sp => new RedisBudgetCounters(sp.GetRequiredService<RedisGovernance>(), sp.GetRequiredService<BudgetPeriods>())));
        services.Replace(ServiceDescriptor.Singleton<ILimitCounters>(sp => new RedisLimitCounters(sp.GetRequiredService<RedisGovernance>(), sp.GetRequiredService<TimeProvider>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeploymentLimits, RedisDeploymentLimits>());
        services.TryAddSingleton<RedisCooldowns>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ICooldownBroadcast, RedisCooldowns>(sp => sp.GetRequiredService<RedisCooldowns>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisCooldowns>(sp => sp.GetRequiredService<RedisCooldowns>()));
        return builder;
    }
}
