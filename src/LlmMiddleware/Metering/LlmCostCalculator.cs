namespace LlmMiddleware;

/// <summary>Prices token usage. Exposed so hosts can price hypothetical or historical usage the way records are priced.</summary>
public static class LlmCostCalculator
{
    private const decimal PerMillion = 1_000_000m;

    /// <summary>
    /// The cost in USD of <paramref name="usage"/> at <paramref name="pricing"/>: uncached input at the input price,
    /// cache reads at the cached-input price, cache writes at the cache-write price (each falling back to the input
    /// price when the model has none), output at the output price with reasoning at its own price when it has one,
    /// and images at the per-image price when the model charges per image; all at the prices of the long-context tier
    /// the prompt reaches, if any (<see cref="LlmModelPricing.Tiers"/>).
    /// </summary>
    public static decimal Cost(in LlmUsage usage, LlmModelPricing pricing, int images = 0)
    {
        ArgumentNullException.ThrowIfNull(pricing);
        pricing = pricing.ForInputTokens(usage.InputTokens);
        var uncachedInput = Math.Max(usage.InputTokens - usage.CachedInputTokens - usage.CacheWriteInputTokens, 0);
        var reasoning = pricing.Reasoning is null ? 0 : Math.Min(usage.ReasoningTokens, usage.OutputTokens);
        var cost = (uncachedInput * pricing.Input)
            + (usage.CachedInputTokens * (pricing.CachedInput ?? pricing.Input))
            + (usage.CacheWriteInputTokens * (pricing.CacheWrite ?? pricing.Input))
            + ((usage.OutputTokens - reasoning) * pricing.Output)
            + (reasoning * (pricing.Reasoning ?? pricing.Output));
        return (cost / PerMillion) + (images * (pricing.Image ?? 0m));
    }
}
