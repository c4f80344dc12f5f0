using LlmMiddleware.Providers;

namespace LlmMiddleware.Upstream;

/// <summary>The HTTP request of one chat attempt, for a single send and a race leg alike.</summary>
internal static class UpstreamRequest
{
    /// <summary>
    /// A request to <paramref name="provider"/>'s chat endpoint for <paramref name="model"/>, carrying
    /// <paramref name="body"/>; in passthrough, with the caller's headers its protocol forwards (Anthropic's version
    /// and beta flags), which a provider of the same protocol understands.
    /// </summary>
    public static HttpRequestMessage Create(LlmRequestContext context, LlmProviderEndpoint provider, string model, ReadOnlyMemory<byte> body, bool passthrough)
    {
        var stream = context.Request.Stream;
        var request = passthrough && context.Codec.OpenAIApiPath is { } path
            ? provider.CreateRequest(provider.OpenAIApiUri(path), body, stream)
            : provider.CreateRequest(provider.ChatUri(model, stream), body, stream);
        if (passthrough)
        {
            var codec = context.Codec;
            foreach (var (name, value) in context.HttpContext.Request.Headers)
            {
                if (codec.IsPassthroughHeader(name))
                {
                    request.Headers.Remove(name);
                    request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value!);
                }
            }
        }

        return request;
    }
}
