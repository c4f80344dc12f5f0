using System.Buffers.Binary;

namespace LlmMiddleware.Utilities;

/// <summary>
/// Version-7 UUIDs (RFC 9562: a 48-bit Unix-millisecond timestamp, then 74 random bits) without a system call per id.
/// <see cref="Guid.CreateVersion7(DateTimeOffset)"/> draws its random bits from the operating system's cryptographic
/// source, about 1.5 µs a call on the benchmark machine — most of metering's cost per call (benchmarks/README.md).
/// Record ids need uniqueness and time order, not secrecy, so the bits come from <see cref="Random.Shared"/> (seeded
/// from the operating system once per thread).
/// </summary>
internal static class UuidV7
{
    public static Guid Create(DateTimeOffset timestamp)
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes[6..]);
        Span<byte> milliseconds = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(milliseconds, timestamp.ToUnixTimeMilliseconds());
        milliseconds[2..].CopyTo(bytes);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F)); // version 7
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F)); // variant 10
        return new Guid(bytes, bigEndian: true);
    }
}
