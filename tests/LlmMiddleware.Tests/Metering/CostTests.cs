using System.Text;
using System.Text.Json;
using LlmMiddleware.Catalog;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.Gemini;
using LlmMiddleware.Protocols.OpenAI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit;

namespace LlmMiddleware.Tests.Metering;

/// <summary>Cost arithmetic for each provider's usage shape, and the price catalog's dates and overrides.</summary>
public sealed class CostTests
{
    private static readonly LlmModelPricing Pricing = new() { Input = 3m, CachedInput = 0.30m, CacheWrite = 3.75m, Output = 15m };

    [Fact]
    public void AnthropicCacheReadsAndWritesArePricedApartFromUncachedInput()
    {
        // Anthropic's input_tokens excludes cache reads and writes; the gateway's usage counts all prompt tokens.
        using var doc = JsonDocument.Parse("""{"input_tokens":100,"cache_creation_input_tokens":2000,"cache_read_input_tokens":5000,"output_tokens":300}""");
        var usage = AnthropicResponseCodec.ReadUsage(doc.RootElement);

        Assert.Equal(7100, usage.InputTokens);
        Assert.Equal((100 * 3m + 5000 * 0.30m + 2000 * 3.75m + 300 * 15m) / 1_000_000m, LlmCostCalculator.Cost(usage, Pricing));
    }

    [Fact]
    public void OpenAICachedTokensArePartOfThePromptAndPricedAtTheCachedRate()
    {
        using var doc = JsonDocument.Parse("""{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":800},"completion_tokens_details":{"reasoning_tokens":200}}""");
        var usage = OpenAIResponseCodec.ReadUsage(doc.RootElement);

        Assert.Equal((200 * 3m + 800 * 0.30m + 500 * 15m) / 1_000_000m, LlmCostCalculator.Cost(usage, Pricing));
        var withReasoningPrice = new LlmModelPricing { Input = 3m, CachedInput = 0.30m, Output = 15m, Reasoning = 20m };
        Assert.Equal((200 * 3m + 800 * 0.30m + 300 * 15m + 200 * 20m) / 1_000_000m, LlmCostCalculator.Cost(usage, withReasoningPrice));
    }

    [Fact]
    public void GeminiThoughtsAreBilledAsOutput()
    {
        // candidatesTokenCount excludes thoughtsTokenCount; Google bills both as output.
        var builder = new ResponseBuilder();
        new GeminiStreamReader().OnEvent(default, """{"candidates":[{"content":{"role":"model","parts":[{"text":"hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1000,"cachedContentTokenCount":400,"candidatesTokenCount":50,"thoughtsTokenCount":150,"totalTokenCount":1200}}"""u8, builder);
        var usage = builder.Build().Usage;

        Assert.Equal(200, usage.OutputTokens);
        Assert.Equal(150, usage.ReasoningTokens);
        Assert.Equal((600 * 3m + 400 * 0.30m + 200 * 15m) / 1_000_000m, LlmCostCalculator.Cost(usage, Pricing));
    }

    [Fact]
    public void MissingCacheRatesFallBackToTheInputRateAndImagesUseTheirOwnPrice()
    {
        var usage = new LlmUsage { InputTokens = 1000, CachedInputTokens = 100, CacheWriteInputTokens = 50, OutputTokens = 10 };
        var plain = new LlmModelPricing { Input = 1m, Output = 2m, Image = 0.001m };

        Assert.Equal((1000 * 1m + 10 * 2m) / 1_000_000m + 3 * 0.001m, LlmCostCalculator.Cost(usage, plain, images: 3));
    }

    [Fact]
    public void CatalogPricesCallsAtThePriceInForceWhenTheyStarted()
    {
        var gpt4o = Catalog().Find("openai", "gpt-4o")!;

        Assert.Equal(5.00m, gpt4o.PricingAt(new DateTimeOffset(2024, 6, 1, 0, 0, 0, TimeSpan.Zero))!.Input);
        var current = gpt4o.PricingAt(new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero))!;
        Assert.Equal(2.50m, current.Input);
        Assert.Equal("2026-11-01+2024-10-02", current.Version);
        // Before our first dated price, the price list's standing price.
        Assert.Equal("@pydantic/genai-prices@0.1.8", gpt4o.PricingAt(new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.Zero))!.Version);
    }

    [Fact]
    public void HostPricesOverrideOnlyWhatTheySetAndProvidersCanBeCoveredByWildcard()
    {
        var options = new LlmGatewayOptions();
        options.Catalog["openai/gpt-4o-mini"] = new LlmModelInfo { Pricing = new LlmModelPricing { Input = 0.1m, Output = 0.2m } };
        options.Catalog["anthropic/claude-haiku-4-5"] = new LlmModelInfo { Prices = [new LlmModelPricing { EffectiveFrom = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), Input = 9m, Output = 9m, Version = "contract-2030" }] };
        options.Catalog["acme/*"] = new LlmModelInfo { Pricing = new LlmModelPricing { Input = 1m, Output = 1m } };
        var catalog = Catalog(options);

        var mini = catalog.Find("openai", "gpt-4o-mini")!;
        Assert.Equal(128000, mini.ContextWindow);
        Assert.Equal("host", mini.PricingAt(DateTimeOffset.UtcNow)!.Version);
        Assert.Equal(0.1m, mini.PricingAt(DateTimeOffset.UtcNow)!.Input);

        var haiku = catalog.Find("anthropic", "claude-haiku-4-5")!;
        Assert.Equal(1.00m, haiku.PricingAt(new DateTimeOffset(2029, 1, 1, 0, 0, 0, TimeSpan.Zero))!.Input);
        Assert.Equal("contract-2030", haiku.PricingAt(new DateTimeOffset(2030, 6, 1, 0, 0, 0, TimeSpan.Zero))!.Version);

        Assert.Equal(1m, catalog.Find("acme", "anything")!.PricingAt(DateTimeOffset.UtcNow)!.Input);
        Assert.Null(catalog.Find("openai", "gpt-unknown"));
    }

    [Fact]
    public void AHostsOwnTieredAndTimeOfDayPricesBindFromConfiguration()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmGateway:Catalog:acme/long:Pricing:Input"] = "1",
            ["LlmGateway:Catalog:acme/long:Pricing:Output"] = "2",
            ["LlmGateway:Catalog:acme/long:Pricing:Tiers:0:AboveInputTokens"] = "100000",
            ["LlmGateway:Catalog:acme/long:Pricing:Tiers:0:Input"] = "3",
            ["LlmGateway:Catalog:acme/long:Prices:0:DailyFromUtc"] = "22:00:00",
            ["LlmGateway:Catalog:acme/long:Prices:0:DailyUntilUtc"] = "06:00:00",
            ["LlmGateway:Catalog:acme/long:Prices:0:Input"] = "0.5",
            ["LlmGateway:Catalog:acme/long:Prices:0:Output"] = "1",
        }).Build();
        var options = new LlmGatewayOptions();
        configuration.GetSection("LlmGateway").Bind(options);
        var model = Catalog(options).Find("acme", "long")!;

        var day = model.PricingAt(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero))!;
        Assert.Equal((1m, 3m, 2m), (day.ForInputTokens(100_000).Input, day.ForInputTokens(100_001).Input, day.ForInputTokens(100_001).Output));
        Assert.Equal(0.5m, model.PricingAt(new DateTimeOffset(2026, 12, 3, 23, 30, 0, TimeSpan.Zero))!.Input); // a window across midnight
    }

    private static LlmModelCatalog Catalog(LlmGatewayOptions? options = null) => new(Options.Create(options ?? new LlmGatewayOptions()));
}
