using LlmMiddleware.Redis;
using StackExchange.Redis;

namespace LlmMiddleware.FunctionalTests.Caching;

/// <summary>The binary form of a semantic entry in Redis: it round-trips, and anything else is skipped, never thrown.</summary>
public sealed class RedisSemanticRecordTests
{
    private static readonly LlmSemanticCacheRecord Record = new(Guid.CreateVersion7(), "partition é", [0.6f, -0.8f, float.Epsilon], [1, 2, 3], DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_123));

    [Fact]
    public void ARecordRoundTrips()
    {
        Assert.True(RedisSemanticRecord.TryDecode(RedisSemanticRecord.Encode(Record), out var read));

        Assert.Equal(Record.Id, read.Id);
        Assert.Equal(Record.Partition, read.Partition);
        Assert.Equal(Record.Vector, read.Vector);
        Assert.Equal(Record.Payload, read.Payload);
        Assert.Equal(Record.ExpiresAt, read.ExpiresAt);
    }

    [Fact]
    public void OtherVersionsTruncationsAndNullsAreSkipped()
    {
        var bytes = RedisSemanticRecord.Encode(Record);
        var otherVersion = (byte[])bytes.Clone();
        otherVersion[0] = 2;

        Assert.False(RedisSemanticRecord.TryDecode(RedisValue.Null, out _));
        Assert.False(RedisSemanticRecord.TryDecode(otherVersion, out _));
        for (var length = 0; length < bytes.Length - Record.Payload.Length; length++)
        {
            Assert.False(RedisSemanticRecord.TryDecode(bytes[..length], out _));
        }
    }
}
