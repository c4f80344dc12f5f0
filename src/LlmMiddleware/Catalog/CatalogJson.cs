using System.Globalization;
using System.Text.Json;

namespace LlmMiddleware.Catalog;

/// <summary>
/// Reads the catalog files' entries. By hand over <see cref="JsonDocument"/> rather than with the serializer: the
/// catalog loads at start, where the serializer's first use (its converters compiled for our types) costs more than
/// the whole of reading the files this way.
/// </summary>
internal static class CatalogJson
{
    public static LlmModelInfo Info(JsonElement model, string provider, string name) => new()
    {
        Provider = provider,
        Model = name,
        ContextWindow = Int(model, "contextWindow"),
        MaxOutputTokens = Int(model, "maxOutputTokens"),
        Capabilities = model.TryGetProperty("capabilities", out var capabilities) ? [.. capabilities.EnumerateArray().Select(c => c.GetString()!)] : [],
        Pricing = model.TryGetProperty("pricing", out var pricing) ? Pricing(pricing) : null,
        Prices = model.TryGetProperty("prices", out var prices) ? [.. prices.EnumerateArray().Select(Pricing)] : [],
    };

    public static LlmModelPricing Pricing(JsonElement price) => new()
    {
        EffectiveFrom = price.TryGetProperty("effectiveFrom", out var from) ? DateTimeOffset.Parse(from.GetString()!, CultureInfo.InvariantCulture) : null,
        DailyFromUtc = Time(price, "dailyFromUtc"),
        DailyUntilUtc = Time(price, "dailyUntilUtc"),
        Version = price.TryGetProperty("version", out var version) ? version.GetString() : null,
        Input = Decimal(price, "input") ?? 0m,
        CachedInput = Decimal(price, "cachedInput"),
        CacheWrite = Decimal(price, "cacheWrite"),
        Output = Decimal(price, "output") ?? 0m,
        Reasoning = Decimal(price, "reasoning"),
        Image = Decimal(price, "image"),
        Tiers = price.TryGetProperty("tiers", out var tiers) ? [.. tiers.EnumerateArray().Select(Tier)] : [],
    };

    public static string String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetString() ?? "" : "";

    private static LlmPriceTier Tier(JsonElement tier) => new()
    {
        AboveInputTokens = tier.GetProperty("aboveInputTokens").GetInt64(),
        Input = Decimal(tier, "input"),
        CachedInput = Decimal(tier, "cachedInput"),
        CacheWrite = Decimal(tier, "cacheWrite"),
        Output = Decimal(tier, "output"),
        Reasoning = Decimal(tier, "reasoning"),
    };

    private static int Int(JsonElement element, string name) => element.TryGetProperty(name, out var value) ? value.GetInt32() : 0;

    private static decimal? Decimal(JsonElement element, string name) => element.TryGetProperty(name, out var value) ? value.GetDecimal() : null;

    private static TimeOnly? Time(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? TimeOnly.Parse(value.GetString()!, CultureInfo.InvariantCulture) : null;
}
