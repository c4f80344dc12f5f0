using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Identity;

/// <summary>The API key a request presents, sent the way its SDK sends it.</summary>
internal static class PresentedKeys
{
    /// <summary><c>Authorization: Bearer</c> (OpenAI SDKs), else <c>x-api-key</c> (Anthropic SDKs), else
    /// <c>x-goog-api-key</c> (Gemini); empty when there is none.</summary>
    public static ReadOnlySpan<char> Of(HttpRequest request)
    {
        var headers = request.Headers;
        return headers.Authorization.ToString() is { Length: > 7 } bearer && bearer.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? bearer.AsSpan(7).Trim()
            : headers["x-api-key"].ToString() is { Length: > 0 } apiKey ? apiKey.AsSpan().Trim()
            : headers["x-goog-api-key"].ToString() is { Length: > 0 } googKey ? googKey.AsSpan().Trim()
            : default;
    }
}
