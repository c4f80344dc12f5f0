using System.Buffers.Binary;
using System.Text;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// The binary form of a semantic entry in Redis and on the channel: version, id, expiry (Unix ms), partition
/// (length-prefixed UTF-8), vector (count, then little-endian floats) and the answer's payload. A value of another
/// version, or one that does not parse, is skipped.
/// </summary>
internal static class RedisSemanticRecord
{
    private const byte Version = 1;
    private const int FixedHeader = 1 + 16 + 8 + 4;

    public static byte[] Encode(LlmSemanticCacheRecord record)
    {
        var partitionLength = Encoding.UTF8.GetByteCount(record.Partition);
        var bytes = new byte[FixedHeader + partitionLength + 4 + (record.Vector.Length * sizeof(float)) + record.Payload.Length];
        var span = bytes.AsSpan();
        span[0] = Version;
        record.Id.TryWriteBytes(span[1..17]);
        BinaryPrimitives.WriteInt64LittleEndian(span[17..], record.ExpiresAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt32LittleEndian(span[25..], partitionLength);
        var offset = FixedHeader + Encoding.UTF8.GetBytes(record.Partition, span[FixedHeader..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[offset..], record.Vector.Length);
        offset += 4;
        foreach (var value in record.Vector)
        {
            BinaryPrimitives.WriteSingleLittleEndian(span[offset..], value);
            offset += sizeof(float);
        }

        record.Payload.CopyTo(span[offset..]);
        return bytes;
    }

    public static bool TryDecode(RedisValue value, out LlmSemanticCacheRecord record)
    {
        record = null!;
        if (value.IsNull)
        {
            return false;
        }

        ReadOnlySpan<byte> span = (byte[])value!;
        if (span.Length < FixedHeader || span[0] != Version)
        {
            return false;
        }

        var partitionLength = BinaryPrimitives.ReadInt32LittleEndian(span[25..]);
        if (partitionLength < 0 || span.Length - FixedHeader - 4 < partitionLength)
        {
            return false;
        }

        var offset = FixedHeader + partitionLength;
        var dimensions = BinaryPrimitives.ReadInt32LittleEndian(span[offset..]);
        offset += 4;
        if (dimensions < 0 || (span.Length - offset) / sizeof(float) < dimensions)
        {
            return false;
        }

        var vector = new float[dimensions];
        for (var i = 0; i < vector.Length; i++, offset += sizeof(float))
        {
            vector[i] = BinaryPrimitives.ReadSingleLittleEndian(span[offset..]);
        }

        record = new LlmSemanticCacheRecord(
            new Guid(span[1..17]),
            Encoding.UTF8.GetString(span.Slice(FixedHeader, partitionLength)),
            vector,
            span[offset..].ToArray(),
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(span[17..])));
        return true;
    }
}
