using System.Buffers;

namespace LlmMiddleware.Protocols.Sse;

/// <summary>SSE framing for writers.</summary>
internal static class SseFormat
{
    public static void WriteEventPrefix(IBufferWriter<byte> output, ReadOnlySpan<byte> eventName)
    {
        Json.Write(output, "event: "u8);
        Json.Write(output, eventName);
        Json.Write(output, "\ndata: "u8);
    }

    public static void WriteDataPrefix(IBufferWriter<byte> output) => Json.Write(output, "data: "u8);

    public static void WriteEnd(IBufferWriter<byte> output) => Json.Write(output, "\n\n"u8);
}
