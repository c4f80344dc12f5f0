using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Sse;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Gateway;

/// <summary>
/// One deployment's run in a race: its own upstream body and translation, and once it has answered, its response with
/// the stream read up to its first content (so the winner is the first to produce content, not just headers). Losers are
/// disposed by the hedging strategy, which cancels their upstream calls; disposal records them.
/// </summary>
internal sealed class RaceLeg(LlmRoute route, Action<RaceLeg> onLost) : IDisposable
{
    private bool _won;
    private int _disposed;

    public LlmRoute Route { get; } = route;

    public PooledBufferWriter Body { get; } = new();

    public TranslationState Translation { get; } = new();

    public bool Passthrough { get; set; }

    public long Started { get; set; }

    public HttpResponseMessage? Response { get; set; }

    /// <summary>Bytes of the stream read while waiting for its first event (what a cancelled loser had delivered).</summary>
    public int PrefetchedBytes { get; set; }

    public LlmGatewayException? Failure { get; set; }

    /// <summary>Whether the leg was cancelled because another won.</summary>
    public bool Cancelled { get; set; }

    public bool Failed => Failure is not null || Response is null || (int)Response.StatusCode >= 400;

    /// <summary>Marks the leg as the race's result (or as never launched): its disposal records nothing.</summary>
    public void MarkWon() => _won = true;

    /// <summary>Frees the leg once (the hedging strategy and the race both dispose); a leg that did not win is recorded.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (!_won)
        {
            onLost(this);
        }

        Response?.Dispose();
        Body.Dispose();
    }

    /// <summary>
    /// Reads the stream until its first content (text, reasoning or a tool call; not just the opening event) or its end,
    /// then puts the bytes read back in front of the rest. Returns whether content arrived.
    /// </summary>
    public async ValueTask<bool> PrefetchFirstContentAsync(LlmProtocol protocol, CancellationToken cancellationToken)
    {
        var response = Response!;
        var upstream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var seen = new MemoryStream();
        var detector = new ContentDetector();
        var reader = ResponseRelay.CreateStreamReader(protocol, new TranslationState());
        using (var sse = new SseReader())
        {
            while (!detector.SawContent && !reader.IsTerminated && await sse.FillAsync(upstream, cancellationToken).ConfigureAwait(false))
            {
                seen.Write(sse.LastRead.Span);
                ResponseRelay.Dispatch(sse, reader, detector);
            }
        }

        PrefetchedBytes = (int)seen.Length;
        var replay = new StreamContent(new PrefixedStream(seen.ToArray(), upstream));
        foreach (var header in response.Content.Headers)
        {
            replay.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = replay;
        return detector.SawContent;
    }

    /// <summary>Notices the first content event of a stream, whatever its protocol.</summary>
    private sealed class ContentDetector : ILlmStreamSink
    {
        public bool SawContent { get; private set; }

        public void Start(string id, string model)
        {
        }

        public void Text(ReadOnlySpan<byte> jsonString) => SawContent = true;

        public void Reasoning(ReadOnlySpan<byte> jsonString) => SawContent = true;

        public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
        {
        }

        public void ToolCallStart(int index, string id, string name) => SawContent = true;

        public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString)
        {
        }

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
