using System.Buffers;

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

/// <summary>What both framings share: a pooled read buffer that compacts before each read and grows when full.</summary>
internal abstract class BufferedFrames : IStreamFrames
{
    protected byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    protected int _start;
    protected int _end;

    public ReadOnlyMemory<byte> LastRead { get; private set; }

    public async ValueTask<bool> FillAsync(Stream stream, CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Grow(ref _buffer, _end);
        }

        var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        LastRead = _buffer.AsMemory(_end, read);
        _end += read;
        return read > 0;
    }

    public abstract bool TryRead(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data);

    public abstract bool TryReadTrailing(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data);

    protected static void Grow(ref byte[] buffer, int used, int minimum = 0)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, minimum));
        Buffer.BlockCopy(buffer, 0, bigger, 0, used);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = bigger;
    }

    public virtual void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
