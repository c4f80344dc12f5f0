using LlmMiddleware.Protocols;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Upstream;

/// <summary>
/// An embeddings answer to the caller, in OpenAI's shape: relayed as it is when the provider spoke OpenAI (errors
/// translated as for chat), written by the provider's codec otherwise, with the inputs the gateway counted as its usage
/// (Gemini reports none); shown to the call's observers, so the response cache keeps it.
/// </summary>
internal static class EmbeddingsRelay
{
    public static async Task RelayAsync(LlmRequestContext context, HttpResponseMessage upstream, LlmCodec codec, EmbeddingsInput input, Metering.LlmTokenizers tokenizers, LlmGatewayOptions options, CancellationToken cancellationToken)
    {
        if (!upstream.IsSuccessStatusCode)
        {
            await ResponseRelay.RelayAsync(context, upstream, context.Codec, new TranslationState(), options, cancellationToken).ConfigureAwait(false);
            return;
        }

        context.UpstreamStatusCode = (int)upstream.StatusCode;
        var providerBody = await upstream.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        context.MarkFirstToken();
        using var output = new PooledBufferWriter(providerBody.Length);
        if (context.IsPassthrough)
        {
            context.Usage = context.Codec.ReadUsage(providerBody);
            Json.Write(output, providerBody);
        }
        else
        {
            // A translated answer (Gemini's) reports no token usage for embeddings: the inputs are counted.
            var tokenizer = tokenizers.For(context.ProviderName, context.UpstreamModel);
            context.Usage = new LlmUsage { InputTokens = input.Inputs.Sum(text => (long)tokenizer.Count(text)) };
            context.UsageCountedBy = tokenizer.Name;
            codec.WriteOpenAIEmbeddings(providerBody, context.RequestedModel, input.Base64, context.Usage.InputTokens, output);
        }

        // The observers (the cache) keep the answer as it was sent.
        context.Observers?.OnResponse(new LlmResponse
        {
            Model = context.UpstreamModel ?? "",
            Usage = context.Usage,
            Content = { new LlmNativePart(LlmProtocol.OpenAIChat, LlmNativePart.EmbeddingsAnswer, System.Text.Encoding.UTF8.GetString(output.WrittenSpan)) },
        });
        context.HttpContext.Response.ContentType = "application/json";
        await context.HttpContext.Response.Body.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }
}
