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

    /// <summary>The price in force at <paramref name="time"/>: the latest dated price that has started, else
    /// <see cref="Pricing"/>; <see langword="null"/> when the model has no price.</summary>
    public LlmModelPricing? PricingAt(DateTimeOffset time)
    {
        LlmModelPricing? best = null;
        foreach (var price in Prices)
        {
            if (price.EffectiveFrom is { } from && from <= time && (best is null || from > best.EffectiveFrom))
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
    /// <summary>When this price took effect; <see langword="null"/> for an undated current price.</summary>
    public DateTimeOffset? EffectiveFrom { get; set; }

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
}
