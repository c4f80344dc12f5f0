using System.Text;
using LlmMiddleware.Protocols.Sse;

namespace LlmMiddleware.Tests.Protocols;

public sealed class SseReaderTests
{
    private static async Task<List<(string Event, string Data)>> ReadAllAsync(string text, int readSize)
    {
        using var reader = new SseReader();
        using var stream = new ChunkedStream(Encoding.UTF8.GetBytes(text), readSize);
        var events = new List<(string, string)>();
        while (await reader.FillAsync(stream, CancellationToken.None))
        {
            Drain(reader, events);
        }

        if (reader.TryReadTrailing(out var name, out var data))
        {
            events.Add((Encoding.UTF8.GetString(name), Encoding.UTF8.GetString(data)));
        }

        return events;
    }

    private static void Drain(SseReader reader, List<(string, string)> events)
    {
        while (reader.TryRead(out var name, out var data))
        {
            events.Add((Encoding.UTF8.GetString(name), Encoding.UTF8.GetString(data)));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public async Task ParsesEventsSplitAcrossReadsWithAnyLineEnding(int readSize)
    {
        const string text = "event: a\ndata: 1\n\n: comment\r\n\r\ndata: 2\r\ndata:3\r\n\r\nevent:b\rdata: {\"x\":\"é\"}\r\rdata: trailing\n";

        var events = await ReadAllAsync(text, readSize);

        Assert.Equal([("a", "1"), ("", "2\n3"), ("b", "{\"x\":\"é\"}"), ("", "trailing")], events);
    }

    [Fact]
    public async Task GrowsForEventsLargerThanItsBuffer()
    {
        var big = new string('x', 100_000);

        var events = await ReadAllAsync($"data: {big}\n\ndata: small\n\n", 8192);

        Assert.Equal(2, events.Count);
        Assert.Equal(big, events[0].Data);
        Assert.Equal("small", events[1].Data);
    }

    [Fact]
    public async Task EventNameDoesNotLeakIntoTheNextEvent()
    {
        var events = await ReadAllAsync("event: ping\ndata: {}\n\ndata: next\n\n", 5);

        Assert.Equal([("ping", "{}"), ("", "next")], events);
    }

    private sealed class ChunkedStream(byte[] data, int size) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(size, buffer.Length)], cancellationToken);
    }
}
