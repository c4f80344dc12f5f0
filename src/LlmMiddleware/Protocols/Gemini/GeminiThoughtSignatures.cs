using System.Buffers.Text;

namespace LlmMiddleware.Protocols.Gemini;

/// <summary>
/// Gemini requires each <c>functionCall</c>'s <c>thoughtSignature</c> to be echoed on the next turn. OpenAI and
/// Anthropic callers have no slot for it, but they echo the tool-call id, so the gateway carries the signature
/// inside the id it hands out (base64url, which both id alphabets accept). Stateless across gateway instances.
/// </summary>
internal static class GeminiThoughtSignatures
{
    private const string Marker = "__thsig__";

    public static string CreateCallId(string? signature) => Attach("call_" + Guid.NewGuid().ToString("N")[..16], signature);

    /// <summary>Carries <paramref name="signature"/> inside <paramref name="callId"/>; the id is unchanged when there is none.</summary>
    public static string Attach(string callId, string? signature) =>
        string.IsNullOrEmpty(signature) ? callId : ToolSchemas.SanitizeId(callId) + Marker + ToBase64Url(signature);

    /// <summary>The signature Gemini's OpenAI-compatible endpoint puts on a tool call (<c>extra_content.google.thought_signature</c>).</summary>
    public static string? FromOpenAIToolCall(System.Text.Json.JsonElement toolCall) =>
        Json.String(Json.Property(Json.Property(toolCall, "extra_content"u8), "google"u8), "thought_signature"u8);

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
