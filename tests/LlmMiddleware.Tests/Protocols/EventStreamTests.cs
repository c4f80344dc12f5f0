using System.Buffers.Binary;
using System.Text;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Bedrock;
using LlmMiddleware.Protocols.Sse;

namespace LlmMiddleware.Tests.Protocols;

/// <summary>AWS event-stream frames read however the bytes arrive, wrapped payloads unwrapped, exceptions as errors.</summary>
public sealed class EventStreamTests
{
    private static byte[] Frame(string name, string type, string payload)
    {
        var headers = new MemoryStream();
        foreach (var (key, value) in new[] { (name, type), (":message-type", name == ":exception-type" ? "exception" : "event") })
        {
            headers.WriteByte((byte)key.Length);
            headers.Write(Encoding.ASCII.GetBytes(key));
            headers.WriteByte(7);
            headers.Write([(byte)(value.Length >> 8), (byte)value.Length]);
            headers.Write(Encoding.ASCII.GetBytes(value));
        }

        var data = Encoding.UTF8.GetBytes(payload);
        var total = 12 + (int)headers.Length + data.Length + 4;
        var frame = new byte[total];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)total);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)headers.Length);
        headers.ToArray().CopyTo(frame, 12);
        data.CopyTo(frame, 12 + (int)headers.Length);
        return frame;
    }

    private static async Task<LlmResponse> ReadAsync(byte[] stream, int chunk)
    {
        using var frames = new EventStreamReader();
        var reader = new BedrockConverseReader();
        var builder = new ResponseBuilder();
        using var source = new ChunkedStream(stream, chunk);
        while (!reader.IsTerminated && await frames.FillAsync(source, CancellationToken.None))
        {
            reader.ReadBuffered(frames, builder);
        }

        return builder.Failure is { } failure ? throw new LlmGatewayException(failure) : builder.Build();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task FramesAreReadWhateverTheReadsSplitThem(int chunk)
    {
        byte[] stream =
        [
            .. Frame(":event-type", "messageStart", """{"role":"assistant"}"""),
            .. Frame(":event-type", "contentBlockDelta", """{"delta":{"text":"Hel"},"contentBlockIndex":0}"""),
            .. Frame(":event-type", "contentBlockDelta", """{"delta":{"text":"lo"},"contentBlockIndex":0}"""),
            .. Frame(":event-type", "messageStop", """{"stopReason":"end_turn"}"""),
            .. Frame(":event-type", "metadata", """{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7,"cacheReadInputTokens":3}}"""),
        ];

        var response = await ReadAsync(stream, chunk);

        Assert.Equal("Hello", Assert.IsType<LlmTextPart>(Assert.Single(response.Content)).Text);
        Assert.Equal((8L, 3L, 2L), (response.Usage.InputTokens, response.Usage.CachedInputTokens, response.Usage.OutputTokens));
    }

    [Fact]
    public async Task AnExceptionFrameEndsTheStreamWithItsError()
    {
        byte[] stream = [.. Frame(":event-type", "messageStart", """{"role":"assistant"}"""), .. Frame(":exception-type", "throttlingException", """{"message":"Too many requests"}""")];

        var error = await Assert.ThrowsAsync<LlmGatewayException>(() => ReadAsync(stream, 5));

        Assert.Equal((429, "throttlingException", "Too many requests"), (error.Error.Status, error.Error.Code, error.Error.Message));
    }

    [Fact]
    public async Task APayloadWrappingTheProvidersOwnEventAsBase64IsUnwrapped()
    {
        var inner = """{"type":"message_stop"}""";
        var frame = Frame(":event-type", "chunk", $$"""{"bytes":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes(inner))}}"}""");
        using var frames = new EventStreamReader();
        await frames.FillAsync(new MemoryStream(frame), CancellationToken.None);

        Assert.Equal(("chunk", inner), Next(frames));

        static (string, string) Next(EventStreamReader frames) =>
            frames.TryRead(out var name, out var data) ? (Encoding.ASCII.GetString(name), Encoding.UTF8.GetString(data)) : default;
    }

    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}
