using System.Text.Json;

namespace LlmMiddleware.Catalog;

/// <summary>
/// The generated price list (<c>genai-prices.json</c>, from @pydantic/genai-prices): providers, each with models found
/// by match rules rather than exact ids, and the providers a provider falls back to (Azure to OpenAI's models, ...).
/// A provider's models are read on its first look-up: a host uses a few of the list's 43 providers, and reading all
/// 1,700 models would be most of the gateway's start-up work.
/// </summary>
internal sealed class PriceList
{
    private readonly ListedProvider[] _providers;
    private readonly Dictionary<string, ListedProvider> _byId;

    private PriceList(string version, ListedProvider[] providers)
    {
        Version = version;
        _providers = providers;
        _byId = providers.ToDictionary(p => p.Id, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The source package and version, stamped on every price from the list.</summary>
    public string Version { get; }

    public static PriceList Load(Stream stream)
    {
        // Kept for the providers' models, read when first needed (the list lives as long as the catalog, a singleton).
        var file = JsonDocument.Parse(stream);
        var source = file.RootElement.GetProperty("source");
        var version = $"{CatalogJson.String(source, "package")}@{CatalogJson.String(source, "version")}";
        return new PriceList(version, [.. file.RootElement.GetProperty("providers").EnumerateArray().Select(p =>
        {
            var id = p.GetProperty("id").GetString()!;
            return new ListedProvider(
                id,
                p.TryGetProperty("providerMatch", out var provider) ? ModelMatch.Parse(provider) : null,
                p.TryGetProperty("modelMatch", out var model) ? ModelMatch.Parse(model) : null,
                p.TryGetProperty("fallbacks", out var fallbacks) ? [.. fallbacks.EnumerateArray().Select(f => f.GetString()!)] : [],
                new Lazy<ListedModel[]>(() => [.. p.GetProperty("models").EnumerateArray().Select(m => Listed(id, m, version))]));
        })]);
    }

    /// <summary>The list's provider for a provider name: by id, else by the list's provider-name rules.</summary>
    public string? ProviderFor(string name)
    {
        if (_byId.ContainsKey(name))
        {
            return name;
        }

        var lowered = name.Trim().ToLowerInvariant();
        return Array.Find(_providers, p => p.ProviderMatch?.IsMatch(lowered) == true)?.Id;
    }

    /// <summary>The first provider whose model-name rule covers <paramref name="id"/> (for providers the list does not know).</summary>
    public string? ProviderOfModel(string id) => Array.Find(_providers, p => p.ModelMatch?.IsMatch(id) == true)?.Id;

    /// <summary>The model of <paramref name="provider"/> (or of a provider it falls back to) covering <paramref name="id"/>.</summary>
    public ListedModel? Find(string provider, string id)
    {
        if (!_byId.TryGetValue(provider, out var listed))
        {
            return null;
        }

        return Array.Find(listed.Models.Value, m => m.Match.IsMatch(id))
            ?? listed.Fallbacks.Select(f => _byId.TryGetValue(f, out var p) ? Array.Find(p.Models.Value, m => m.Match.IsMatch(id)) : null).FirstOrDefault(m => m is not null);
    }

    /// <summary>Every model of the list in its order, with the provider-level rules, for tests.</summary>
    internal IEnumerable<(string Provider, ModelMatch? ProviderMatch, ModelMatch? ModelMatch, ListedModel Model)> Entries =>
        _providers.SelectMany(p => p.Models.Value.Select(m => (p.Id, p.ProviderMatch, p.ModelMatch, m)));

    private static ListedModel Listed(string provider, JsonElement model, string version)
    {
        var id = model.GetProperty("id").GetString()!;
        var info = CatalogJson.Info(model, provider, id);
        info.Pricing?.Version = version;
        foreach (var price in info.Prices)
        {
            price.Version = price.EffectiveFrom is { } from ? $"{version}+{from:yyyy-MM-dd}" : $"{version}+{price.DailyFromUtc:HH\\:mm}-{price.DailyUntilUtc:HH\\:mm}";
        }

        return new ListedModel(id, ModelMatch.Parse(model.GetProperty("match")), info);
    }

    internal sealed record ListedModel(string Id, ModelMatch Match, LlmModelInfo Info);

    private sealed record ListedProvider(string Id, ModelMatch? ProviderMatch, ModelMatch? ModelMatch, string[] Fallbacks, Lazy<ListedModel[]> Models);
}
