using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Catalog;

/// <summary>
/// The model catalog: the embedded <c>models.json</c> with the host's <c>LlmGateway:Catalog</c> entries laid over it
/// (a configured entry replaces the built-in one for that provider and model).
/// </summary>
internal sealed class LlmModelCatalog
{
    private static readonly JsonSerializerOptions FileOptions = new() { PropertyNameCaseInsensitive = true };
    private readonly FrozenDictionary<string, LlmModelInfo> _models;

    public LlmModelCatalog(IOptions<LlmGatewayOptions> options)
    {
        using var stream = typeof(LlmModelCatalog).Assembly.GetManifestResourceStream("LlmMiddleware.Catalog.models.json")
            ?? throw new InvalidOperationException("The embedded model catalog is missing.");
        var file = JsonSerializer.Deserialize<CatalogFile>(stream, FileOptions) ?? new CatalogFile();
        Version = file.Version;
        var models = new Dictionary<string, LlmModelInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in file.Models)
        {
            models[Key(model.Provider, model.Model)] = model;
        }

        foreach (var (key, model) in options.Value.Catalog)
        {
            var slash = key.IndexOf('/');
            model.Provider = model.Provider.Length > 0 ? model.Provider : slash > 0 ? key[..slash] : key;
            model.Model = model.Model.Length > 0 ? model.Model : slash > 0 ? key[(slash + 1)..] : "";
            models[Key(model.Provider, model.Model)] = model;
        }

        _models = models.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The built-in data's version.</summary>
    public string Version { get; }

    public LlmModelInfo? Find(string provider, string model) => _models.GetValueOrDefault(Key(provider, model));

    private static string Key(string provider, string model) => provider + "/" + model;

    private sealed class CatalogFile
    {
        public string Version { get; set; } = "";

        public List<LlmModelInfo> Models { get; set; } = [];
    }
}
