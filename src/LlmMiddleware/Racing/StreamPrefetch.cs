using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Sse;

namespace LlmMiddleware.Racing;

/// <summary>
/// Reads a streamed response until its first content (text, reasoning or a tool call; not just the opening event) or
/// its end, then puts the bytes read back in front of the rest, so the relay still sees the whole stream. Lets a race
/// pick the first leg to produce content, and lets a first-token time limit cover streams whose headers come at once.
/// </summary>
internal static class StreamPrefetch
{
    /// <summary>Reads up to the first content; returns whether there was any, and the content read (text, reasoning,
    /// tool names and arguments), which a race loser is billed for.</summary>
    public static async ValueTask<(bool SawContent, string Content)> UntilFirstContentAsync(HttpResponseMessage response, LlmCodec codec, CancellationToken cancellationToken)
    {
        var upstream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var seen = new MemoryStream();
        using var detector = new Metering.DeliveredOutput();
        var reader = codec.CreateStreamReader(new TranslationState());
        using (var sse = StreamFrames.For(response))
        {
            while (detector.IsEmpty && !reader.IsTerminated && await sse.FillAsync(upstream, cancellationToken).ConfigureAwait(false))
            {
                seen.Write(sse.LastRead.Span);
                reader.ReadBuffered(sse, detector);
            }
        }

        var replay = new StreamContent(new PrefixedStream(seen.ToArray(), upstream));
        foreach (var header in response.Content.Headers)
        {
            replay.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = replay;
        return (!detector.IsEmpty, detector.ToText());
    }

    private sealed class PrefixedStream(byte[] prefix, Stream rest) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < prefix.Length)
            {
                var count = Math.Min(buffer.Length, prefix.Length - _position);
                prefix.AsMemory(_position, count).CopyTo(buffer);
                _position += count;
                return count;
            }

            return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rest.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
