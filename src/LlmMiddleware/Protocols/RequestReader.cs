using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.OpenAI;

namespace LlmMiddleware.Protocols;

/// <summary>Parses a caller's request in its protocol; anything malformed becomes a 400, never a crash.</summary>
internal static class RequestReader
{
    public static LlmRequest Read(LlmProtocol inbound, ReadOnlyMemory<byte> body)
    {
        try
        {
            return inbound == LlmProtocol.AnthropicMessages ? AnthropicRequestReader.Read(body) : OpenAIRequestReader.Read(body);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or IndexOutOfRangeException)
        {
            throw Json.Invalid($"The request body is malformed: {ex.Message}");
        }
    }
}
