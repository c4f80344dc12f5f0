using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Catalog;

/// <summary>
/// The model catalog, in three layers: the generated price list (<c>genai-prices.json</c>, 1,500 models found by match
/// rules, so <c>gpt-4o-2024-08-06</c> is priced as <c>gpt-4o</c>), our own entries (<c>models.json</c>: capabilities,
/// output limits, price history the list lacks) and the host's <c>LlmGateway:Catalog</c>. Each layer overrides what it
/// sets: limits, capabilities, and prices (an undated price replaces those below; dated ones are added to the history).
/// <c>{provider}/*</c> covers every model of a provider the list does not price.
/// </summary>
internal sealed class LlmModelCatalog
{
    // Answers are remembered per (provider, model) so a look-up costs a dictionary probe; the ids are the caller's to
    // choose on passthrough routes, so only this many are kept, and the rest are matched each time.
    private const int MaxRemembered = 10_000;

    private readonly PriceList _list;
    // Plain dictionaries, read-only once built: look-ups hit _found, and freezing would cost more at start than it saves.
    private readonly Dictionary<(string Provider, string Model), LlmModelInfo> _entries = new(KeyComparer.Instance);
    private readonly Dictionary<string, string> _aliases;
    private readonly ConcurrentDictionary<(string Provider, string Model), LlmModelInfo?> _found = new(KeyComparer.Instance);

    public LlmModelCatalog(IOptions<LlmGatewayOptions> options)
    {
        using (var list = Resource("genai-prices.json"))
        {
            _list = PriceList.Load(list);
        }

        using var own = JsonDocument.Parse(Resource("models.json"));
        Version = CatalogJson.String(own.RootElement, "version");
        _aliases = own.RootElement.GetProperty("aliases").EnumerateObject().ToDictionary(a => a.Name, a => a.Value.GetString()!, StringComparer.OrdinalIgnoreCase);
        foreach (var entry in own.RootElement.GetProperty("models").EnumerateArray())
        {
            var model = CatalogJson.Info(entry, CatalogJson.String(entry, "provider"), CatalogJson.String(entry, "model"));
            Stamp(model, from => from is { } date ? $"{Version}+{date:yyyy-MM-dd}" : Version);
            _entries[(model.Provider, model.Model)] = model;
        }

        foreach (var (key, configured) in options.Value.Catalog)
        {
            var slash = key.IndexOf('/');
            var provider = configured.Provider.Length > 0 ? configured.Provider : slash > 0 ? key[..slash] : key;
            var name = configured.Model.Length > 0 ? configured.Model : slash > 0 ? key[(slash + 1)..] : "";
            Stamp(configured, _ => "host");
            _entries[(provider, name)] = Overlay(_entries.GetValueOrDefault((provider, name)), configured, provider, name);
        }
    }

    /// <summary>The version of our own entries (<c>models.json</c>).</summary>
    public string Version { get; }

    /// <summary>The generated list's source and version (<c>@pydantic/genai-prices@0.1.8</c>).</summary>
    public string ListVersion => _list.Version;

    internal PriceList List => _list;

    /// <summary>
    /// The entry of <paramref name="provider"/>'s <paramref name="model"/>: our or the host's entry for it laid over the
    /// list's model whose rule covers it; else the provider's <c>*</c> entry; else, for a provider the list does not
    /// know (a host's own name for an OpenAI-compatible endpoint), the model as priced by the provider that makes it.
    /// </summary>
    public LlmModelInfo? Find(string provider, string model)
    {
        if (_found.TryGetValue((provider, model), out var info))
        {
            return info;
        }

        info = Resolve(provider, model);
        if (_found.Count < MaxRemembered)
        {
            _found.TryAdd((provider, model), info);
        }

        return info;
    }

    private LlmModelInfo? Resolve(string provider, string model)
    {
        var own = _entries.GetValueOrDefault((provider, model));
        var wildcard = _entries.GetValueOrDefault((provider, "*"));
        var id = model.Trim().ToLowerInvariant();
        if (id.Length > ModelMatch.MaxIdLength)
        {
            return own ?? wildcard;
        }

        var listedProvider = _aliases.GetValueOrDefault(provider) ?? _list.ProviderFor(provider);
        var listed = listedProvider is not null ? _list.Find(listedProvider, id) : null;
        if (listed is null && (own ?? wildcard) is not null)
        {
            return own ?? wildcard;
        }

        if (listed is null && listedProvider is null && _list.ProviderOfModel(id) is { } maker)
        {
            listed = _list.Find(maker, id);
        }

        if (listed is null)
        {
            return null;
        }

        own ??= _entries.GetValueOrDefault((provider, listed.Id));
        return own is null ? listed.Info : Overlay(listed.Info, own, provider, listed.Id);
    }

    private static LlmModelInfo Overlay(LlmModelInfo? below, LlmModelInfo above, string provider, string model)
    {
        if (below is null)
        {
            above.Provider = provider;
            above.Model = model;
            return above;
        }

        return new LlmModelInfo
        {
            Provider = provider,
            Model = model,
            ContextWindow = above.ContextWindow > 0 ? above.ContextWindow : below.ContextWindow,
            MaxOutputTokens = above.MaxOutputTokens > 0 ? above.MaxOutputTokens : below.MaxOutputTokens,
            Capabilities = above.Capabilities.Count > 0 ? above.Capabilities : below.Capabilities,
            Pricing = above.Pricing ?? below.Pricing,
            Prices = above.Pricing is not null ? above.Prices : [.. below.Prices, .. above.Prices],
        };
    }

    // Every price names the data it came from on the records it prices, unless its author already did.
    private static void Stamp(LlmModelInfo model, Func<DateTimeOffset?, string> version)
    {
        foreach (var price in model.Prices.Append(model.Pricing))
        {
            price?.Version ??= version(price.EffectiveFrom);
        }
    }

    private static Stream Resource(string name) =>
        typeof(LlmModelCatalog).Assembly.GetManifestResourceStream("LlmMiddleware.Catalog." + name)
            ?? throw new InvalidOperationException($"The embedded catalog file {name} is missing.");

    private sealed class KeyComparer : IEqualityComparer<(string Provider, string Model)>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals((string Provider, string Model) x, (string Provider, string Model) y) =>
            string.Equals(x.Provider, y.Provider, StringComparison.OrdinalIgnoreCase) && string.Equals(x.Model, y.Model, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode((string Provider, string Model) key) =>
            HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(key.Provider), StringComparer.OrdinalIgnoreCase.GetHashCode(key.Model));
    }
}
