using LlmMiddleware.Tokenizers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.Tokenizers;

namespace LlmMiddleware.Metering;

/// <summary>A tokenizer the gateway counts with, and the name call records give it.</summary>
internal sealed record CountingTokenizer(Tokenizer Tokenizer, string Name)
{
    public int Count(string text) => Tokenizer.CountTokens(text);
}

/// <summary>A host's tokenizer for one provider's models, or for one model of it (<see cref="Model"/> set).</summary>
internal sealed record LlmTokenizerRegistration(string Provider, string? Model, string Name, Func<IServiceProvider, Tokenizer> Factory);

/// <summary>
/// Picks the tokenizer that counts a call's tokens (prompts and delivered output when the provider reports none, race
/// losers, embeddings inputs): the host's for the provider and model, then the host's for the provider, then tiktoken —
/// the model's own encoding for OpenAI models, o200k_base as an estimate for every other model. The router's "fits"
/// counts before a deployment is chosen, with <see cref="Default"/>.
/// </summary>
internal sealed class LlmTokenizers
{
    private static readonly Lazy<CountingTokenizer> O200k = new(() => new(TiktokenEncoding.O200kBase.Tokenizer, "tiktoken:" + TiktokenEncoding.O200kBaseName));
    private static readonly Lazy<CountingTokenizer> Cl100k = new(() => new(TiktokenEncoding.Cl100kBase.Tokenizer, "tiktoken:" + TiktokenEncoding.Cl100kBaseName));
    private readonly Dictionary<string, (CountingTokenizer? AllModels, Dictionary<string, CountingTokenizer> Models)> _registered = new(StringComparer.OrdinalIgnoreCase);

    public LlmTokenizers(IEnumerable<LlmTokenizerRegistration> registrations, IServiceProvider services)
    {
        foreach (var registration in registrations)
        {
            var tokenizer = new CountingTokenizer(registration.Factory(services), registration.Name);
            var (all, models) = _registered.TryGetValue(registration.Provider, out var entry) ? entry : (null, new Dictionary<string, CountingTokenizer>(StringComparer.OrdinalIgnoreCase));
            if (registration.Model is null)
            {
                all = tokenizer;
            }
            else
            {
                models[registration.Model] = tokenizer;
            }

            _registered[registration.Provider] = (all, models);
        }
    }

    /// <summary>The tokenizer for requests not yet routed to a model (o200k_base).</summary>
    public static CountingTokenizer Default => O200k.Value;

    /// <summary>Whether <see cref="For"/> counts <paramref name="model"/> exactly: the host's tokenizer for it, or an
    /// OpenAI model's own encoding (otherwise o200k_base only estimates).</summary>
    public bool IsExact(string provider, string model) =>
        (_registered.TryGetValue(provider, out var entry) && (entry.AllModels is not null || entry.Models.ContainsKey(model))) ||
        TiktokenEncoding.GetEncodingNameForModel(model) is not null;

    /// <summary>The tokenizer that counts for <paramref name="model"/> served by <paramref name="provider"/>.</summary>
    public CountingTokenizer For(string? provider, string? model)
    {
        if (provider is not null && _registered.TryGetValue(provider, out var entry))
        {
            if (model is not null && entry.Models.TryGetValue(model, out var forModel))
            {
                return forModel;
            }

            if (entry.AllModels is { } forProvider)
            {
                return forProvider;
            }
        }

        return model is not null && TiktokenEncoding.GetEncodingNameForModel(model) == TiktokenEncoding.Cl100kBaseName ? Cl100k.Value : O200k.Value;
    }
}
