using LlmMiddleware;
using LlmMiddleware.Catalog;
using LlmMiddleware.Governance;
using LlmMiddleware.Governance.Budgets;
using LlmMiddleware.Identity;
using LlmMiddleware.Pipeline;
using LlmMiddleware.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers budgets.</summary>
public static class LlmBudgetsGatewayBuilderExtensions
{
    /// <summary>
    /// Caps what callers spend (bound to <c>LlmGateway:Budgets</c>): the default pipeline admits a call after the
    /// response cache only if its worst-case cost fits every budget of its caller's key, team, user, app and tags, and
    /// settles the metered cost afterwards. Change budgets at run time with <see cref="LlmBudgets"/>; hear of soft limits
    /// through <see cref="LlmBudgetHook"/>s (<see cref="AddBudgetHook{THook}"/>).
    /// </summary>
    public static ILlmGatewayBuilder AddBudgets(this ILlmGatewayBuilder builder, Action<LlmBudgetOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<LlmBudgetOptions>();
        if (!services.Any(d => d.ServiceType == typeof(LlmBudgets)))
        {
            options.BindConfiguration(LlmBudgetOptions.SectionName).ValidateOnStart();
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmBudgetOptions>, LlmBudgetOptionsValidator>());
        services.TryAddSingleton<BudgetAlerts>();
        services.TryAddSingleton(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<LlmBudgetOptions>>().Value;
            return new BudgetPeriods(TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone), options.WeekStartsOn);
        });
        services.TryAddSingleton<IBudgetCounters>(static sp => new InMemoryBudgetCounters(
            sp.GetRequiredService<BudgetPeriods>(), sp.GetService<ILlmSpendHistory>(), sp.GetRequiredService<ILogger<InMemoryBudgetCounters>>()));
        services.TryAddSingleton(static sp =>
        {
            var book = new BudgetBook();
            book.Replace(sp.GetRequiredService<IOptions<LlmBudgetOptions>>().Value.Rules);
            return new LlmBudgets(book, sp.GetRequiredService<IBudgetCounters>(), sp.GetRequiredService<BudgetAlerts>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<ILlmGovernanceRuleStore>());
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, GovernanceRuleSync>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageFusion, GovernanceAdmissionFusion>()); // with rate limits, in a shared store
        services.TryAddKeyedSingleton<LlmCallStage>(BuiltInStages.Budgets, static (sp, _) => new BudgetsStage(
            sp.GetRequiredService<LlmBudgets>(),
            new CostBound(sp.GetRequiredService<LlmRouter>(), sp.GetRequiredService<LlmModelCatalog>(), sp.GetRequiredService<IOptions<LlmBudgetOptions>>().Value.AssumedMaxOutputTokens),
            sp.GetRequiredService<CallerIdentities>()));
        return builder;
    }

    /// <summary>Adds a hook told when spend crosses a budget's soft limit.</summary>
    public static ILlmGatewayBuilder AddBudgetHook<THook>(this ILlmGatewayBuilder builder)
        where THook : LlmBudgetHook
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<LlmBudgetHook, THook>());
        return builder;
    }
}
