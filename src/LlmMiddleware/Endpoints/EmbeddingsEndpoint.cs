using System.Text.Json;
using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Providers;
using LlmMiddleware.Upstream;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Endpoints;

/// <summary><c>POST /v1/embeddings</c>: OpenAI-shaped embeddings from OpenAI-protocol providers (forwarded) and Gemini (translated by its codec).</summary>
internal static class EmbeddingsEndpoint
{
    public static Task HandleAsync(HttpContext http, CallFraming framing) =>
        framing.RunAsync(http, LlmProtocol.OpenAIChat, LlmOperationNames.Embeddings, (context, aborted) => EmbedAsync(context, framing, aborted));

    private static async Task EmbedAsync(LlmRequestContext context, CallFraming framing, CancellationToken aborted)
    {
        var http = context.HttpContext;
        using var body = await RequestBody.ReadAsync(http.Request, framing.Options.MaxRequestBodyBytes, aborted).ConfigureAwait(false);
        using var doc = Json.Parse(body.WrittenMemory, "request body");
        var root = doc.RootElement;
        var requested = root.ValueKind == JsonValueKind.Object && Json.OptionalString(root, "model"u8) is { Length: > 0 } m ? m : throw Json.Invalid("'model' is required.", "model");
        var inputs = ReadInputs(root);
        context.RequestedModel = requested;
        context.Request.Model = requested;
        var (provider, model) = framing.Registry.Resolve(requested);
        provider.EnsureUsable();
        context.ProviderName = provider.Name;
        context.ProviderProtocol = provider.Protocol;
        context.UpstreamModel = model;
        await framing.InvokePipelineAsync(context, (context, aborted) => SendAsync(context, framing, body, root, inputs, provider, model, aborted), aborted).ConfigureAwait(false);
    }

    /// <summary>The embeddings pipeline's last step: the provider request, and its answer in OpenAI's shape.</summary>
    private static async ValueTask SendAsync(LlmRequestContext context, CallFraming framing, PooledBufferWriter body, JsonElement root, List<string> inputs, LlmProviderEndpoint provider, string model, CancellationToken aborted)
    {
        var http = context.HttpContext;
        var codec = provider.Codec;
        if (!codec.HasEmbeddings)
        {
            throw Json.Invalid($"Provider '{provider.Name}' ({codec.Protocol}) has no embeddings API.", "model");
        }

        using var upstreamBody = new PooledBufferWriter(body.WrittenCount + 256);
        context.IsPassthrough = codec.WriteEmbeddingsRequest(body.WrittenSpan, model, inputs, Json.OptionalInt(root, "dimensions"u8), upstreamBody);
        using var request = provider.CreateRequest(provider.EmbeddingsPath(model), upstreamBody.WrittenMemory, stream: false);
        using var timeout = new TimeLimit(aborted, framing.Options.UpstreamTimeout, framing.TimeProvider);
        using var response = await framing.Sender.SendUpstreamAsync(provider, request, timeout.Token, aborted).ConfigureAwait(false);
        if (context.IsPassthrough || !response.IsSuccessStatusCode)
        {
            await ResponseRelay.RelayAsync(context, response, context.Codec, new TranslationState(), framing.Options, aborted).ConfigureAwait(false);
            return;
        }

        context.UpstreamStatusCode = (int)response.StatusCode;

        // A translated answer (Gemini's) reports no token usage for embeddings: the inputs are counted.
        var tokenizer = framing.Tokenizers.For(provider.Name, model);
        context.Usage = new LlmUsage { InputTokens = inputs.Sum(text => (long)tokenizer.Count(text)) };
        context.UsageCountedBy = tokenizer.Name;
        var providerBody = await response.Content.ReadAsByteArrayAsync(aborted).ConfigureAwait(false);
        using var output = new PooledBufferWriter(providerBody.Length);
        codec.WriteOpenAIEmbeddings(providerBody, context.RequestedModel, Json.String(root, "encoding_format"u8) == "base64", context.Usage.InputTokens, output);
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(output.WrittenMemory, aborted).ConfigureAwait(false);
    }

    private static List<string> ReadInputs(JsonElement root)
    {
        var input = Json.Property(root, "input"u8);
        var texts = new List<string>();
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                texts.Add(input.GetString()!);
                break;
            case JsonValueKind.Array when input.GetArrayLength() > 0:
                foreach (var item in input.EnumerateArray())
                {
                    // Token-array inputs are forwarded to OpenAI-protocol providers as they are; Gemini needs text.
                    texts.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : item.GetRawText());
                }

                break;
            default:
                throw Json.Invalid("'input' must be a non-empty string or array.", "input");
        }

        return texts;
    }
}
