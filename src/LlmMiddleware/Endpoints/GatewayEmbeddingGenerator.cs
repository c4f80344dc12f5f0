using System.Text.Json;
using LlmMiddleware.Caching.Semantic;
using LlmMiddleware.Gateway;
using LlmMiddleware.Identity;
using LlmMiddleware.Protocols;
using Microsoft.Extensions.AI;

namespace LlmMiddleware.Endpoints;

/// <summary>
/// Embeds through the gateway's own <c>/v1/embeddings</c> handling, in process: the configured model is resolved like
/// a caller's (aliases, providers, Gemini translation), and each call runs the hooks and is metered to the caller whose
/// request was being looked up, so no embedding spend goes unrecorded.
/// </summary>
internal sealed class GatewayEmbeddingGenerator(IServiceProvider services, CallFraming framing, string model) : ICallerEmbeddingGenerator
{
    private readonly EmbeddingGeneratorMetadata _metadata = new("llm-middleware-gateway", null, model);

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        GenerateAsync(values, caller: null, cancellationToken);

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, LlmCallerIdentity? caller, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["model"] = model, ["input"] = values.ToArray(), ["encoding_format"] = "float" });
        var (status, answer) = await InProcessCall.SendAsync(services, "/v1/embeddings", body, features =>
        {
            if (caller is not null)
            {
                features.Set(new LlmCallerFeature(caller));
            }
        }, http => EmbeddingsEndpoint.HandleAsync(http, framing), cancellationToken).ConfigureAwait(false);
        using var document = answer;
        if (status is < 200 or >= 300)
        {
            throw new InvalidOperationException($"The embeddings model '{model}' failed ({status}): {InProcessCall.ErrorMessage(document)}");
        }

        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var item in Json.Property(document.RootElement, "data"u8).EnumerateArray())
        {
            var embedding = item.GetProperty("embedding");
            var vector = new float[embedding.GetArrayLength()];
            var i = 0;
            foreach (var value in embedding.EnumerateArray())
            {
                vector[i++] = value.GetSingle();
            }

            result.Add(new Embedding<float>(vector) { ModelId = model });
        }

        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }
}
