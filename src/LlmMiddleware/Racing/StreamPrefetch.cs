using LlmMiddleware.Gateway;
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
    public static async ValueTask<(bool SawContent, string Content)> UntilFirstContentAsync(HttpResponseMessage response, LlmProtocol protocol, CancellationToken cancellationToken)
    {
        var upstream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var seen = new MemoryStream();
        using var detector = new ContentDetector();
        var reader = ResponseRelay.CreateStreamReader(protocol, new TranslationState());
        using (var sse = new SseReader())
        {
            while (!detector.SawContent && !reader.IsTerminated && await sse.FillAsync(upstream, cancellationToken).ConfigureAwait(false))
            {
                seen.Write(sse.LastRead.Span);
                ResponseRelay.Dispatch(sse, reader, detector);
            }
        }

        var replay = new StreamContent(new PrefixedStream(seen.ToArray(), upstream));
        foreach (var header in response.Content.Headers)
        {
            replay.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = replay;
        return (detector.SawContent, detector.Content.ToText());
    }

    /// <summary>Notices the first content event of a stream, whatever its protocol, and keeps what it contained.</summary>
    private sealed class ContentDetector : ILlmStreamSink, IDisposable
    {
        public bool SawContent { get; private set; }

        public Metering.DeliveredOutput Content { get; } = new();

        public void Dispose() => Content.Dispose();

        public void Start(string id, string model)
        {
        }

        public void Text(ReadOnlySpan<byte> jsonString)
        {
            SawContent = true;
            Content.AppendLiteral(jsonString);
        }

        public void Reasoning(ReadOnlySpan<byte> jsonString)
        {
            SawContent = true;
            Content.AppendLiteral(jsonString);
        }

        public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
        {
        }

        public void ToolCallStart(int index, string id, string name)
        {
            SawContent = true;
            Content.AppendText(name);
        }

        public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString) => Content.AppendLiteral(jsonString);

        public void Usage(in LlmUsage usage)
        {
        }

        public void Finish(LlmFinishReason reason, string? stopSequence)
        {
        }

        public void Error(LlmError error)
        {
        }

        public void Complete()
        {
        }
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
