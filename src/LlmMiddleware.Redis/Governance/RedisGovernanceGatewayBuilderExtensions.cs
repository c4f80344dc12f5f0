using LlmMiddleware;
using LlmMiddleware.Deployments;
using LlmMiddleware.Governance;
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
    /// <c>LlmGateway:GovernanceStore</c> and then <paramref name="configure"/>, so every instance shares them exactly: a
    /// call is admitted to both in one Lua script (one round trip) when rate limits come directly before budgets in the
    /// pipeline, as by default; with <see cref="RedisGovernanceOptions.WindowLease"/>, calls under minute windows only
    /// mostly make none. Deployments' <c>MaxConcurrency</c> and <c>RequestsPerMinute</c> hold across instances, and their
    /// cooldowns are shared (a deployment cooling down on one instance is skipped by all). While Redis is unreachable,
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
        services.TryAddSingleton(sp => new RedisBudgetCounters(sp.GetRequiredService<RedisGovernance>(), sp.GetRequiredService<BudgetPeriods>()));
        services.TryAddSingleton(sp => new RedisLimitCounters(sp.GetRequiredService<RedisGovernance>(), sp.GetRequiredService<TimeProvider>()));
        services.Replace(ServiceDescriptor.Singleton<IBudgetCounters>(sp => sp.GetRequiredService<RedisBudgetCounters>()));
        services.Replace(ServiceDescriptor.Singleton<ILimitCounters>(sp => sp.GetRequiredService<RedisLimitCounters>()));
        services.TryAddSingleton<IGovernanceAdmission, RedisGovernanceAdmission>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeploymentLimits, RedisDeploymentLimits>());
        services.TryAddSingleton<RedisCooldowns>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ICooldownBroadcast, RedisCooldowns>(sp => sp.GetRequiredService<RedisCooldowns>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisCooldowns>(sp => sp.GetRequiredService<RedisCooldowns>()));
        return builder;
    }
}
