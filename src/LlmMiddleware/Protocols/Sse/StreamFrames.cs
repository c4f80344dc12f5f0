namespace LlmMiddleware.Protocols.Sse;

/// <summary>
/// A provider stream's framing: server-sent events (every provider but one) or AWS's binary event stream (Bedrock).
/// Each frame comes out as an event name and its data, so the stream readers do not care which framing carried it.
/// </summary>
internal interface IStreamFrames : IDisposable
{
    /// <summary>The bytes read by the last <see cref="FillAsync"/>, for relaying them unchanged.</summary>
    ReadOnlyMemory<byte> LastRead { get; }

    /// <summary>Reads more bytes from <paramref name="stream"/>; returns <see langword="false"/> at end of stream.</summary>
    ValueTask<bool> FillAsync(Stream stream, CancellationToken cancellationToken);

    /// <summary>Returns the next complete frame in the buffer, if any.</summary>
    bool TryRead(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data);

    /// <summary>At end of stream: a frame that was complete but unterminated, if the framing has such.</summary>
    bool TryReadTrailing(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data);
}

internal static class StreamFrames
{
    /// <summary>The framing of a streamed response, by its media type.</summary>
    public static IStreamFrames For(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType == EventStreamReader.MediaType ? new EventStreamReader() : new SseReader();
}
