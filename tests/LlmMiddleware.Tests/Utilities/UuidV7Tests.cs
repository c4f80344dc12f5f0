using LlmMiddleware.Utilities;
using Xunit;

namespace LlmMiddleware.Tests.Utilities;

public sealed class UuidV7Tests
{
    [Fact]
    public void IdsAreVersion7WithTheirMillisecondFirst()
    {
        var at = new DateTimeOffset(2026, 12, 2, 16, 45, 0, 123, TimeSpan.Zero);
        var id = UuidV7.Create(at);

        Assert.Equal(7, id.Version);
        Assert.Equal(0b10, id.Variant >> 2); // RFC 9562's variant: the top bits 10
        var text = id.ToString("N");
        Assert.Equal(at.ToUnixTimeMilliseconds(), Convert.ToInt64(text[..12], 16));
        Assert.Equal(Guid.CreateVersion7(at).ToString("N")[..12], text[..12]); // the same layout as the framework's
    }

    [Fact]
    public void IdsAreUniqueAndSortByTime()
    {
        var start = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 100_000).Select(i => UuidV7.Create(start.AddMilliseconds(i / 100))).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids.Select(id => id.ToString("N")[..12]), ids.Select(id => id.ToString("N")[..12]).Order(StringComparer.Ordinal));
    }
}
