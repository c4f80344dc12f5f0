using Microsoft.Extensions.AI;

namespace LlmMiddleware.Caching.Semantic;

/// <summary>An embedding generator whose calls are attributed to a caller: the gateway's own embeddings, metered to
/// the caller whose request the semantic cache is looking up.</summary>
internal interface ICallerEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, LlmCallerIdentity? caller, CancellationToken cancellationToken);
}

/// <summary>Creates the generator that embeds with <paramref name="model"/> through the gateway itself.</summary>
internal delegate ICallerEmbeddingGenerator GatewayEmbedderFactory(string model);
