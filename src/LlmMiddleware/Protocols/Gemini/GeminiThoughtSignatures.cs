using System.Buffers.Text;

namespace LlmMiddleware.Protocols.Gemini;

/// <summary>
/// Gemini requires each <c>functionCall</c>'s <c>thoughtSignature</c> to be echoed on the next turn. OpenAI and
/// Anthropic callers have no slot for it, but they echo the tool-call id, so the gateway carries the signature
/// inside the id it hands out (base64url, which both id alphabets accept). Stateless across gateway instances.
/// </summary>
internal static class GeminiThoughtSignatures
{
    private const string Marker = "_ts_";

    public static string CreateCallId(string? signature)
    {
        var id = "call_" + Guid.NewGuid().ToString("N")[..16];
        return string.IsNullOrEmpty(signature) ? id : id + Marker + ToBase64Url(signature);
    }

    public static string? Extract(string callId)
    {
        var marker = callId.IndexOf(Marker, StringComparison.Ordinal);
        if (marker < 0)
        {
            return null;
        }

        try
        {
            var encoded = callId[(marker + Marker.Length)..];
            return System.Text.Encoding.UTF8.GetString(Base64Url.DecodeFromChars(encoded));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string ToBase64Url(string signature) => Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(signature));
}
