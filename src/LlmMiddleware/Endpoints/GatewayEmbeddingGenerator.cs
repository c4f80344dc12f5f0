using System.Text.Json;
using LlmMiddleware.Caching.Semantic;
using LlmMiddleware.Gateway;
using LlmMiddleware.Identity;
using LlmMiddleware.Protocols;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
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
        var http = new DefaultHttpContext { RequestServices = services, RequestAborted = cancellationToken };
        http.Request.Method = HttpMethods.Post;
        http.Request.Path = "/v1/embeddings";
        http.Request.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["model"] = model, ["input"] = values.ToArray(), ["encoding_format"] = "float" });
        http.Request.Body = new MemoryStream(body);
        http.Request.ContentLength = body.Length;
        var response = new MemoryStream();
        http.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(response));
        if (caller is not null)
        {
            http.Features.Set(new LlmCallerFeature(caller));
        }

        await EmbeddingsEndpoint.HandleAsync(http, framing).ConfigureAwait(false);
        using var document = JsonDocument.Parse(response.ToArray());
        if (http.Response.StatusCode is < 200 or >= 300)
        {
            throw new InvalidOperationException($"The embeddings model '{model}' failed ({http.Response.StatusCode}): {Json.String(Json.Property(document.RootElement, "error"u8), "message"u8)}");
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
