using LlmMiddleware;
using LlmMiddleware.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the PostgreSQL budget and rate-limit store.</summary>
public static class PostgreSqlRuleStoreGatewayBuilderExtensions
{
    /// <summary>
    /// Keeps budgets and rate limits in PostgreSQL, shared by every instance (bound to <c>LlmGateway:RuleStore</c>, then
    /// <paramref name="configure"/>): the first instance seeds the table from its configuration; afterwards a budget or
    /// limit set or removed on any instance (<see cref="LlmBudgets"/>, <see cref="LlmRateLimits"/>, the admin API) is
    /// in force on all of them as soon as PostgreSQL's notification lands. Use with <c>AddBudgets()</c>/<c>AddRateLimits()</c>.
    /// </summary>
    public static ILlmGatewayBuilder AddPostgreSqlRuleStore(this ILlmGatewayBuilder builder, Action<PostgreSqlRuleStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<PostgreSqlRuleStoreOptions>().BindConfiguration("LlmGateway:RuleStore").ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton<PostgreSqlGovernanceRuleStore>();
        builder.Services.Replace(ServiceDescriptor.Singleton<ILlmGovernanceRuleStore>(sp => sp.GetRequiredService<PostgreSqlGovernanceRuleStore>()));
        return builder;
    }
}
