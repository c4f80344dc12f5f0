namespace LlmMiddleware;

/// <summary>Budgets and rate limits, as one snapshot.</summary>
/// <param name="Budgets">The budgets.</param>
/// <param name="RateLimits">The rate limits.</param>
public sealed record LlmGovernanceRules(IReadOnlyList<LlmBudget> Budgets, IReadOnlyList<LlmRateLimit> RateLimits);

/// <summary>
/// Where budgets and rate limits live when every instance must share them (none by default: each instance keeps its
/// own, from configuration and <see cref="LlmBudgets"/>/<see cref="LlmRateLimits"/>). The first instance seeds the
/// store from its configuration; from then on the store is the rules' source, changed one rule at a time by any
/// instance (the admin API), and every instance follows it.
/// </summary>
public interface ILlmGovernanceRuleStore
{
    /// <summary>Stores <paramref name="configured"/> if the store was never seeded; otherwise leaves it as it is.</summary>
    ValueTask SeedAsync(LlmGovernanceRules configured, CancellationToken cancellationToken);

    /// <summary>The stored rules, then again each time any instance changes one. Throws when the store is lost: the
    /// gateway then watches again.</summary>
    IAsyncEnumerable<LlmGovernanceRules> WatchAsync(CancellationToken cancellationToken);

    /// <summary>Adds or replaces the budget of its scope, subject and period.</summary>
    ValueTask SetBudgetAsync(LlmBudget budget, CancellationToken cancellationToken);

    /// <summary>Removes a budget; returns whether there was one.</summary>
    ValueTask<bool> RemoveBudgetAsync(LlmBudgetScope scope, string subject, LlmBudgetPeriod period, CancellationToken cancellationToken);

    /// <summary>Adds or replaces the rate limit of its scope and subject.</summary>
    ValueTask SetRateLimitAsync(LlmRateLimit limit, CancellationToken cancellationToken);

    /// <summary>Removes a rate limit; returns whether there was one.</summary>
    ValueTask<bool> RemoveRateLimitAsync(LlmRateLimitScope scope, string subject, CancellationToken cancellationToken);
}
