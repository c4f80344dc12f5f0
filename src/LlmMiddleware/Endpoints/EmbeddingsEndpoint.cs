using System.Text.Json;
using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Providers;
using LlmMiddleware.Upstream;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Endpoints;

/// <summary>
/// <c>POST /v1/embeddings</c>: OpenAI-shaped embeddings from OpenAI-protocol providers (forwarded) and Gemini (translated
/// by its codec). The model may be a group: its deployments that serve embeddings are tried in the group's order, with
/// the same retries, cooldowns and fallbacks as chat.
/// </summary>
internal static class EmbeddingsEndpoint
{
    public static Task HandleAsync(HttpContext http, CallFraming framing) =>
        framing.RunAsync(http, LlmProtocol.OpenAIChat, LlmOperationNames.Embeddings, (context, aborted) => EmbedAsync(context, framing, aborted));

    private static async Task EmbedAsync(LlmRequestContext context, CallFraming framing, CancellationToken aborted)
    {
        var body = await RequestBody.ReadAsync(context.HttpContext.Request, framing.Options.MaxRequestBodyBytes, aborted).ConfigureAwait(false);
        EmbeddingsInput input;
        string requested;
        try
        {
            using var doc = Json.Parse(body.WrittenMemory, "request body");
            var root = doc.RootElement;
            requested = root.ValueKind == JsonValueKind.Object && Json.OptionalString(root, "model"u8) is { Length: > 0 } m ? m : throw Json.Invalid("'model' is required.", "model");
            input = new EmbeddingsInput(ReadInputs(root), Json.OptionalInt(root, "dimensions"u8), Json.String(root, "encoding_format"u8) == "base64");

            // What the answer depends on, for the cache key (an embeddings call has no messages).
            context.Request.UnmodeledFields = [.. root.EnumerateObject().Where(p => p.Name is "input" or "dimensions" or "encoding_format").Select(p => KeyValuePair.Create("embeddings." + p.Name, p.Value.GetRawText()))];
        }
        catch
        {
            body.Dispose();
            throw;
        }

        context.RequestedModel = requested;
        context.Request.Model = requested;
        var (route, candidates) = await framing.Preparation.ResolveAsync(context, requested, aborted).ConfigureAwait(false);
        if (candidates?.FindAll(d => d.Endpoint.Codec.HasEmbeddings) is { Count: > 0 } embedding)
        {
            (route, candidates) = (new LlmRoute(embedding[0].Endpoint, embedding[0].Model, embedding[0]), embedding);
        }

        using var call = new PreparedCall(body, route, candidates) { Embeddings = input };
        await framing.Preparation.RetargetAsync(context, call, route, aborted).ConfigureAwait(false);
        await framing.InvokePipelineAsync(context, (context, aborted) => new ValueTask(framing.Sender.SendAsync(context, call, aborted)), aborted).ConfigureAwait(false);
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
