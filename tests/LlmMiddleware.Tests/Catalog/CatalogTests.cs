using System.Text.Json;
using LlmMiddleware.Catalog;
using LlmMiddleware.Tests.Architecture;
using Microsoft.Extensions.Options;
using Xunit;

namespace LlmMiddleware.Tests.Catalog;

/// <summary>
/// The catalog built from @pydantic/genai-prices: well-known list prices reached by the ids callers send, every tier
/// boundary of the generated file, dated and time-of-day prices, and the generated file's provenance.
/// </summary>
public sealed class CatalogTests
{
    private static readonly LlmModelCatalog Catalog = new(Options.Create(new LlmGatewayOptions()));
    private static readonly DateTimeOffset Evening = new(2026, 11, 21, 20, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("openai", "gpt-4o-2024-08-06", "gpt-4o", 2.50, 10.00)]                       // a dated snapshot, priced as its family
    [InlineData("openai", "gpt-4o-mini", "gpt-4o-mini", 0.15, 0.60)]
    [InlineData("azure", "gpt-4o-mini", "gpt-4o-mini", 0.15, 0.60)]                          // Azure falls back to OpenAI's models
    [InlineData("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5", 3.00, 15.00)]
    [InlineData("gemini", "gemini-2.5-pro-preview-06-05", "gemini-2.5-pro", 1.25, 10.00)]    // our provider name, the list's 'google'
    [InlineData("groq", "llama-3.3-70b-versatile", "llama-3.3-70b-versatile", 0.59, 0.79)]
    [InlineData("cerebras", "llama-3.3-70b", "llama-3.3-70b", 0.85, 1.20)]
    [InlineData("xai", "grok-4", "grok-4-0709", 3.00, 15.00)]
    [InlineData("mistral", "mistral-large-latest", "mistral-large", 2.00, 6.00)]
    [InlineData("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.88, 0.88)]
    [InlineData("openrouter", "anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5", 3.00, 15.00)]
    [InlineData("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "regional.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.30, 16.50)]
    [InlineData("bedrock-anthropic", "anthropic.claude-sonnet-4-5-20250929-v1:0", "regional.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.30, 16.50)]
    [InlineData("openai", "text-embedding-3-small", "text-embedding-3-small", 0.02, 0)]     // embedding models: input only
    [InlineData("gemini", "gemini-embedding-001", "gemini-embedding-001", 0.15, 0)]
    [InlineData("vertex", "gemini-2.5-flash", "gemini-2.5-flash", 0.30, 2.50)]
    [InlineData("vertex-anthropic", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5", 3.00, 15.00)]   // Vertex's dated ids
    [InlineData("corp-proxy", "gpt-4o", "gpt-4o", 2.50, 10.00)]                              // a provider the list does not know: its maker's price
    public void WellKnownModelsArePricedFromTheList(string provider, string model, string entry, decimal input, decimal output)
    {
        var info = Catalog.Find(provider, model)!;
        var price = info.PricingAt(Evening)!.ForInputTokens(1_000);

        Assert.Equal(entry, info.Model, ignoreCase: true);
        Assert.Equal((input, output), (price.Input, price.Output));
    }

    [Fact]
    public void OurEntriesAddCapabilitiesAndLimitsToTheListsPrice()
    {
        var sonnet = Catalog.Find("anthropic", "claude-sonnet-4-5-20250929")!;

        Assert.Equal(64000, sonnet.MaxOutputTokens);
        Assert.True(sonnet.CapabilityFlags.HasFlag(LlmModelCapabilities.Reasoning));
        Assert.Equal("@pydantic/genai-prices@0.1.8", sonnet.PricingAt(Evening)!.Version);
        Assert.Equal(0m, Catalog.Find("ollama", "llama3.2")!.PricingAt(Evening)!.Output);
        Assert.Null(Catalog.Find("openai", "gpt-unknown"));
        Assert.Null(Catalog.Find("openai", new string('g', 300)));
    }

    [Fact]
    public void LongContextTiersPriceTheWholeCallAboveTheirThreshold()
    {
        var pro = Catalog.Find("gemini", "gemini-2.5-pro")!.PricingAt(Evening)!;
        var atThreshold = new LlmUsage { InputTokens = 200_000, OutputTokens = 1_000 };
        var above = atThreshold with { InputTokens = 200_001 };

        Assert.Equal((200_000 * 1.25m + 1_000 * 10m) / 1_000_000m, LlmCostCalculator.Cost(atThreshold, pro));
        Assert.Equal((200_001 * 2.50m + 1_000 * 15m) / 1_000_000m, LlmCostCalculator.Cost(above, pro));
    }

    [Fact]
    public void EveryTierBoundaryOfTheGeneratedListIsHonoured()
    {
        using var file = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(LayeringTests.RepositoryRoot(), "src/LlmMiddleware/Catalog/genai-prices.json")));
        var checkedTiers = 0;
        var listed = Catalog.List.Entries.Select(e => e.Model.Info).ToList();
        var models = file.RootElement.GetProperty("providers").EnumerateArray().SelectMany(p => p.GetProperty("models").EnumerateArray()).ToList();
        Assert.Equal(models.Count, listed.Count);
        foreach (var (model, info) in models.Zip(listed))
        {
            var prices = (model.TryGetProperty("prices", out var dated) ? dated.EnumerateArray().ToList() : []).Prepend(model.TryGetProperty("pricing", out var p) ? p : default);
            foreach (var (price, index) in prices.Select((price, index) => (price, index)).Where(x => x.price.ValueKind == JsonValueKind.Object && x.price.TryGetProperty("tiers", out _)))
            {
                var ours = index == 0 ? info.Pricing! : info.Prices[index - 1];
                var below = (Input: price.GetProperty("input").GetDecimal(), Output: price.GetProperty("output").GetDecimal());
                foreach (var tier in price.GetProperty("tiers").EnumerateArray())
                {
                    var threshold = tier.GetProperty("aboveInputTokens").GetInt64();
                    var at = ours.ForInputTokens(threshold);
                    var over = ours.ForInputTokens(threshold + 1);
                    Assert.Equal(below, (at.Input, at.Output));
                    below = (tier.TryGetProperty("input", out var i) ? i.GetDecimal() : below.Input, tier.TryGetProperty("output", out var o) ? o.GetDecimal() : below.Output);
                    Assert.Equal(below, (over.Input, over.Output));
                    checkedTiers++;
                }
            }
        }

        Assert.True(checkedTiers >= 50, $"only {checkedTiers} tiers");
    }

    [Fact]
    public void EveryListedIdResolvesAsThePackageItselfResolvesIt()
    {
        // [provider, id, the package's answer], written by the generator from the package's own calcPrice.
        var oracle = JsonSerializer.Deserialize<string?[][]>(File.ReadAllText(Path.Combine(LayeringTests.RepositoryRoot(), "tests/LlmMiddleware.Tests/Catalog/genai-prices.oracle.json")))!;
        var priced = Catalog.List.Entries.Select(e => e.Model.Id).ToHashSet();
        var compared = 0;
        foreach (var row in oracle)
        {
            // Models with no token price were left out of our list, so an id the package resolves to one is not ours to answer.
            if (row[2] is { } answer && !priced.Contains(answer))
            {
                continue;
            }

            Assert.True(row[2] == Catalog.List.Find(row[0]!, row[1]!.ToLowerInvariant())?.Id, $"{row[0]}/{row[1]}: the package says {row[2] ?? "none"}");
            compared++;
        }

        Assert.True(compared >= 1_400, $"{compared} ids");
    }

    [Fact]
    public void DatedAndTimeOfDayPricesApplyWhenInForce()
    {
        var o3 = Catalog.Find("openai", "o3")!;
        Assert.Equal(10m, o3.PricingAt(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero))!.Input);
        Assert.Equal(2m, o3.PricingAt(Evening)!.Input);
        Assert.Equal("@pydantic/genai-prices@0.1.8+2025-06-10", o3.PricingAt(Evening)!.Version);

        // DeepSeek's standard hours are 00:30-16:30 UTC; off-peak is half price.
        var deepseek = Catalog.Find("deepseek", "deepseek-chat")!;
        Assert.Equal((0.27m, 1.10m), Prices(deepseek.PricingAt(new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero))!));
        Assert.Equal((0.135m, 0.55m), Prices(deepseek.PricingAt(Evening)!));
        Assert.Equal((0.135m, 0.55m), Prices(deepseek.PricingAt(new DateTimeOffset(2026, 11, 21, 16, 30, 0, TimeSpan.Zero))!));

        static (decimal, decimal) Prices(LlmModelPricing price) => (price.Input, price.Output);
    }

    [Fact]
    public void TheListIsBroadItsPatternsAreValidAndItsSourceIsRecorded()
    {
        foreach (var rule in Catalog.List.Entries.SelectMany(e => new[] { e.ProviderMatch, e.ModelMatch, e.Model.Match }).OfType<ModelMatch>())
        {
            rule.Compile();
        }

        var root = LayeringTests.RepositoryRoot();
        using var file = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(root, "src/LlmMiddleware/Catalog/genai-prices.json")));
        var models = file.RootElement.GetProperty("providers").EnumerateArray().Sum(p => p.GetProperty("models").GetArrayLength());
        Assert.True(models >= 1_000, $"{models} models");
        Assert.Equal("@pydantic/genai-prices@0.1.8", Catalog.ListVersion);
        Assert.Equal("MIT", file.RootElement.GetProperty("source").GetProperty("license").GetString());
        Assert.Contains("MIT License", File.ReadAllText(Path.Combine(root, "src/LlmMiddleware/Catalog/genai-prices.LICENSE.txt")));
    }
}
