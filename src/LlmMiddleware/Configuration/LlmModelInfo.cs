namespace LlmMiddleware;

/// <summary>What a model accepts.</summary>
[Flags]
public enum LlmModelCapabilities
{
    /// <summary>Plain text only.</summary>
    None = 0,

    /// <summary>Function tools.</summary>
    Tools = 1 << 0,

    /// <summary>Image input.</summary>
    Images = 1 << 1,

    /// <summary>JSON-schema structured output.</summary>
    JsonSchema = 1 << 2,

    /// <summary>Streamed responses.</summary>
    Streaming = 1 << 3,

    /// <summary>Reasoning / extended thinking.</summary>
    Reasoning = 1 << 4,
}

/// <summary>
/// A model's limits, capabilities and list prices, from the built-in catalog (<c>Catalog/models.json</c>) or from
/// <c>LlmGateway:Catalog:{provider}/{model}</c>. Used by the router to decide what fits a request and what it costs.
/// </summary>
public sealed class LlmModelInfo
{
    /// <summary>The provider name (<c>openai</c>, <c>anthropic</c>, ...).</summary>
    public string Provider { get; set; } = "";

    /// <summary>The upstream model name.</summary>
    public string Model { get; set; } = "";

    /// <summary>Input plus output tokens the model accepts.</summary>
    public int ContextWindow { get; set; }

    /// <summary>Most tokens the model generates in one response.</summary>
    public int MaxOutputTokens { get; set; }

    /// <summary>Capabilities by name: <c>tools</c>, <c>images</c>, <c>json_schema</c>, <c>streaming</c>, <c>reasoning</c>.</summary>
    public List<string> Capabilities { get; set; } = [];

    /// <summary>The current list price (no effective date), or <see langword="null"/> when unknown.</summary>
    public LlmModelPricing? Pricing { get; set; }

    /// <summary>Dated prices: each applies from its <see cref="LlmModelPricing.EffectiveFrom"/> until the next one.
    /// Calls are priced at the time they start, so a price change never reprices past calls.</summary>
    public List<LlmModelPricing> Prices { get; set; } = [];

    /// <summary>
    /// The price in force at <paramref name="time"/>: a time-of-day price (<see cref="LlmModelPricing.DailyFromUtc"/>)
    /// whose window holds it, the later listed first; else the latest dated price that has started; else
    /// <see cref="Pricing"/>. <see langword="null"/> when the model has no price.
    /// </summary>
    public LlmModelPricing? PricingAt(DateTimeOffset time)
    {
        LlmModelPricing? best = null;
        for (var i = Prices.Count - 1; i >= 0; i--)
        {
            var price = Prices[i];
            if (price.EffectiveFrom is { } from && from > time)
            {
                continue;
            }

            if (price.DailyFromUtc is { } start && price.DailyUntilUtc is { } end)
            {
                if (TimeOnly.FromTimeSpan(time.UtcDateTime.TimeOfDay).IsBetween(start, end))
                {
                    return price;
                }
            }
            else if (price.EffectiveFrom is not null && (best is null || price.EffectiveFrom > best.EffectiveFrom))
            {
                best = price;
            }
        }

        return best ?? Pricing;
    }

    /// <summary><see cref="Capabilities"/> as flags.</summary>
    public LlmModelCapabilities CapabilityFlags
    {
        get
        {
            var flags = LlmModelCapabilities.None;
            foreach (var capability in Capabilities)
            {
                flags |= capability.ToLowerInvariant() switch
                {
                    "tools" => LlmModelCapabilities.Tools,
                    "images" => LlmModelCapabilities.Images,
                    "json_schema" => LlmModelCapabilities.JsonSchema,
                    "streaming" => LlmModelCapabilities.Streaming,
                    "reasoning" => LlmModelCapabilities.Reasoning,
                    _ => LlmModelCapabilities.None,
                };
            }

            return flags;
        }
    }
}

/// <summary>List prices in USD per million tokens (per image for <see cref="Image"/>).</summary>
public sealed class LlmModelPricing
{
    private (long Above, LlmModelPricing Price)[]? _tiers;

    /// <summary>When this price took effect; <see langword="null"/> for an undated current price.</summary>
    public DateTimeOffset? EffectiveFrom { get; set; }

    /// <summary>
    /// With <see cref="DailyUntilUtc"/>, makes this a time-of-day price (peak or off-peak hours): in force each day from
    /// this UTC time until that one (a window may wrap past midnight), from <see cref="EffectiveFrom"/> if set.
    /// </summary>
    public TimeOnly? DailyFromUtc { get; set; }

    /// <summary>The end (exclusive) of a time-of-day price's daily window; see <see cref="DailyFromUtc"/>.</summary>
    public TimeOnly? DailyUntilUtc { get; set; }

    /// <summary>
    /// Identifies the price data on every record priced with it. Built-in prices carry the catalog's version and their
    /// effective date; host prices carry what the host sets here, or <c>host</c>.
    /// </summary>
    public string? Version { get; set; }

    /// <summary>Uncached input tokens.</summary>
    public decimal Input { get; set; }

    /// <summary>Input tokens read from the provider's prompt cache; <see langword="null"/> when the provider has no discount.</summary>
    public decimal? CachedInput { get; set; }

    /// <summary>Input tokens written to the prompt cache (Anthropic); <see langword="null"/> when not charged separately.</summary>
    public decimal? CacheWrite { get; set; }

    /// <summary>Output tokens, reasoning included unless <see cref="Reasoning"/> prices them apart.</summary>
    public decimal Output { get; set; }

    /// <summary>Reasoning (thinking) tokens, when priced apart from other output; <see langword="null"/> = <see cref="Output"/>.</summary>
    public decimal? Reasoning { get; set; }

    /// <summary>A flat price per input image, for models that charge per image rather than per token.</summary>
    public decimal? Image { get; set; }

    /// <summary>
    /// Long-context prices: a call whose prompt (cached tokens included) has more than a tier's
    /// <see cref="LlmPriceTier.AboveInputTokens"/> is priced, input and output alike, at the highest such tier.
    /// </summary>
    public List<LlmPriceTier> Tiers { get; set; } = [];

    /// <summary>The flat prices that apply to a call with <paramref name="inputTokens"/> prompt tokens (see <see cref="Tiers"/>).</summary>
    public LlmModelPricing ForInputTokens(long inputTokens)
    {
        if (Tiers.Count == 0)
        {
            return this;
        }

        var chosen = this;
        foreach (var (above, price) in _tiers ??= ResolveTiers())
        {
            if (inputTokens <= above)
            {
                break;
            }

            chosen = price;
        }

        return chosen;
    }

    // Each tier as a flat price; the prices a tier leaves unset are the base ones.
    private (long Above, LlmModelPricing Price)[] ResolveTiers() => [.. Tiers.OrderBy(t => t.AboveInputTokens).Select(tier => (tier.AboveInputTokens, new LlmModelPricing
    {
        EffectiveFrom = EffectiveFrom,
        Version = Version,
        Input = tier.Input ?? Input,
        CachedInput = tier.CachedInput ?? CachedInput,
        CacheWrite = tier.CacheWrite ?? CacheWrite,
        Output = tier.Output ?? Output,
        Reasoning = tier.Reasoning ?? Reasoning,
        Image = Image,
    }))];
}

/// <summary>Prices that replace a <see cref="LlmModelPricing"/>'s for calls with a long prompt; unset ones stay as they are.</summary>
public sealed class LlmPriceTier
{
    /// <summary>The tier applies to calls whose prompt has more than this many tokens.</summary>
    public long AboveInputTokens { get; set; }

    /// <summary>Uncached input tokens.</summary>
    public decimal? Input { get; set; }

    /// <summary>Input tokens read from the prompt cache.</summary>
    public decimal? CachedInput { get; set; }

    /// <summary>Input tokens written to the prompt cache.</summary>
    public decimal? CacheWrite { get; set; }

    /// <summary>Output tokens.</summary>
    public decimal? Output { get; set; }

    /// <summary>Reasoning tokens, when priced apart from other output.</summary>
    public decimal? Reasoning { get; set; }
}
