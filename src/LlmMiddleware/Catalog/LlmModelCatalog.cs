using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Catalog;

/// <summary>
/// The model catalog: the embedded <c>models.json</c> with the host's <c>LlmGateway:Catalog</c> entries laid over it.
/// A host entry overrides what it sets: limits, capabilities, and prices (an undated host price replaces the built-in
/// prices; dated ones are added to their history). <c>{provider}/*</c> covers every model of a provider.
/// </summary>
internal sealed class LlmModelCatalog
{
    private static readonly JsonSerializerOptions FileOptions = new() { PropertyNameCaseInsensitive = true };
    private readonly FrozenDictionary<(string Provider, string Model), LlmModelInfo> _models;

    public LlmModelCatalog(IOptions<LlmGatewayOptions> options)
    {
        using var stream = typeof(LlmModelCatalog).Assembly.GetManifestResourceStream("LlmMiddleware.Catalog.models.json")
            ?? throw new InvalidOperationException("The embedded model catalog is missing.");
        var file = JsonSerializer.Deserialize<CatalogFile>(stream, FileOptions) ?? new CatalogFile();
        Version = file.Version;
        var models = new Dictionary<(string Provider, string Model), LlmModelInfo>(KeyComparer.Instance);
        foreach (var model in file.Models)
        {
            foreach (var price in model.Prices.Append(model.Pricing))
            {
                price?.Version ??= price.EffectiveFrom is { } from ? $"{Version}+{from:yyyy-MM-dd}" : Version;
            }

            models[Key(model.Provider, model.Model)] = model;
        }

        foreach (var (key, configured) in options.Value.Catalog)
        {
            var slash = key.IndexOf('/');
            var provider = configured.Provider.Length > 0 ? configured.Provider : slash > 0 ? key[..slash] : key;
            var name = configured.Model.Length > 0 ? configured.Model : slash > 0 ? key[(slash + 1)..] : "";
            models[Key(provider, name)] = Overlay(models.GetValueOrDefault(Key(provider, name)), configured, provider, name);
        }

        _models = models.ToFrozenDictionary(KeyComparer.Instance);
    }

    /// <summary>The built-in data's version.</summary>
    public string Version { get; }

    /// <summary>The entry of <paramref name="provider"/>'s <paramref name="model"/>, else the provider's <c>*</c> entry.</summary>
    public LlmModelInfo? Find(string provider, string model) =>
        _models.GetValueOrDefault(Key(provider, model)) ?? _models.GetValueOrDefault(Key(provider, "*"));

    private static LlmModelInfo Overlay(LlmModelInfo? builtIn, LlmModelInfo host, string provider, string model)
    {
        foreach (var price in host.Prices.Append(host.Pricing))
        {
            price?.Version ??= "host";
        }

        if (builtIn is null)
        {
            host.Provider = provider;
            host.Model = model;
            return host;
        }

        return new LlmModelInfo
        {
            Provider = provider,
            Model = model,
            ContextWindow = host.ContextWindow > 0 ? host.ContextWindow : builtIn.ContextWindow,
            MaxOutputTokens = host.MaxOutputTokens > 0 ? host.MaxOutputTokens : builtIn.MaxOutputTokens,
            Capabilities = host.Capabilities.Count > 0 ? host.Capabilities : builtIn.Capabilities,
            Pricing = host.Pricing ?? builtIn.Pricing,
            Prices = host.Pricing is not null ? host.Prices : [.. builtIn.Prices, .. host.Prices],
        };
    }

    // A tuple key, so a look-up on the request path allocates nothing.
    private static (string, string) Key(string provider, string model) => (provider, model);

    private sealed class KeyComparer : IEqualityComparer<(string Provider, string Model)>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals((string Provider, string Model) x, (string Provider, string Model) y) =>
            string.Equals(x.Provider, y.Provider, StringComparison.OrdinalIgnoreCase) && string.Equals(x.Model, y.Model, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode((string Provider, string Model) key) =>
            HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(key.Provider), StringComparer.OrdinalIgnoreCase.GetHashCode(key.Model));
    }

    private sealed class CatalogFile
    {
        public string Version { get; set; } = "";

        public List<LlmModelInfo> Models { get; set; } = [];
    }
}
