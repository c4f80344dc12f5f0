using LlmMiddleware.Protocols;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Upstream;

/// <summary>
/// An embeddings answer to the caller, in OpenAI's shape: relayed as it is when the provider spoke OpenAI (and errors
/// translated as for chat), written by the provider's codec otherwise, with the inputs the gateway counted as its usage
/// (Gemini reports none).
/// </summary>
internal static class EmbeddingsRelay
{
    public static async Task RelayAsync(LlmRequestContext context, HttpResponseMessage upstream, LlmCodec codec, EmbeddingsInput input, Metering.LlmTokenizers tokenizers, LlmGatewayOptions options, CancellationToken cancellationToken)
    {
        if (context.IsPassthrough || !upstream.IsSuccessStatusCode)
        {
            await ResponseRelay.RelayAsync(context, upstream, context.Codec, new TranslationState(), options, cancellationToken).ConfigureAwait(false);
            return;
        }

        context.UpstreamStatusCode = (int)upstream.StatusCode;
        var tokenizer = tokenizers.For(context.ProviderName, context.UpstreamModel);
        context.Usage = new LlmUsage { InputTokens = input.Inputs.Sum(text => (long)tokenizer.Count(text)) };
        context.UsageCountedBy = tokenizer.Name;
        var providerBody = await upstream.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        context.MarkFirstToken();
        using var output = new PooledBufferWriter(providerBody.Length);
        codec.WriteOpenAIEmbeddings(providerBody, context.RequestedModel, input.Base64, context.Usage.InputTokens, output);
        context.HttpContext.Response.ContentType = "application/json";
        await context.HttpContext.Response.Body.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }
}
