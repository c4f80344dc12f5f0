using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;

namespace LlmMiddleware.Protocols.Sse;

/// <summary>
/// AWS's binary event stream (<c>application/vnd.amazon.eventstream</c>, Bedrock's streams): frames of a 12-byte
/// prelude (total length, headers length, prelude checksum), typed headers, the payload and a message checksum. A frame
/// comes out named by its <c>:event-type</c> (or <c>:exception-type</c>) header; a payload that wraps the provider's own
/// event as base64 <c>bytes</c> (InvokeModel's stream) comes out unwrapped. The checksums are not checked: TLS already
/// protects what arrives.
/// </summary>
internal sealed class EventStreamReader : BufferedFrames
{
    public const string MediaType = "application/vnd.amazon.eventstream";
    private const int PreludeLength = 12;
    private byte[] _unwrapped = ArrayPool<byte>.Shared.Rent(4 * 1024);
    private readonly byte[] _name = new byte[64];

    public override bool TryRead(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data)
    {
        eventName = default;
        data = default;
        var available = _buffer.AsSpan(_start, _end - _start);
        if (available.Length < PreludeLength)
        {
            return false;
        }

        var total = (int)BinaryPrimitives.ReadUInt32BigEndian(available);
        var headersLength = (int)BinaryPrimitives.ReadUInt32BigEndian(available[4..]);
        if (total < PreludeLength + 4 || headersLength > total - PreludeLength - 4)
        {
            throw new JsonException("A malformed event-stream frame.");
        }

        if (available.Length < total)
        {
            if (total > _buffer.Length)
            {
                Grow(ref _buffer, _end, total + _start);
            }

            return false;
        }

        var nameLength = ReadName(available.Slice(PreludeLength, headersLength));
        var payload = available[(PreludeLength + headersLength)..(total - 4)];
        _start += total;
        eventName = _name.AsSpan(0, nameLength);
        data = Unwrap(payload);
        return true;
    }

    public override bool TryReadTrailing(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data)
    {
        eventName = default;
        data = default;
        return false;
    }

    // The :event-type, else :exception-type, header's value; other headers are skipped by their type's size.
    private int ReadName(ReadOnlySpan<byte> headers)
    {
        var length = 0;
        while (!headers.IsEmpty)
        {
            var name = headers.Slice(1, headers[0]);
            var type = headers[1 + name.Length];
            var value = headers[(2 + name.Length)..];
            var size = type switch
            {
                0 or 1 => 0,
                2 => 1,
                3 => 2,
                4 => 4,
                5 or 8 => 8,
                9 => 16,
                _ => 2 + BinaryPrimitives.ReadUInt16BigEndian(value), // 6 bytes, 7 string: a 2-byte length first
            };
            if (type == 7 && (name.SequenceEqual(":event-type"u8) || (length == 0 && name.SequenceEqual(":exception-type"u8))))
            {
                var text = value.Slice(2, size - 2);
                length = Math.Min(text.Length, _name.Length);
                text[..length].CopyTo(_name);
            }

            headers = value[size..];
        }

        return length;
    }

    private ReadOnlySpan<byte> Unwrap(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 10 || !payload.StartsWith("{\"bytes\":\""u8))
        {
            return payload;
        }

        var reader = new Utf8JsonReader(payload);
        reader.Read();
        reader.Read();
        reader.Read();
        var base64 = reader.ValueSpan;
        var needed = base64.Length / 4 * 3 + 3;
        if (needed > _unwrapped.Length)
        {
            Grow(ref _unwrapped, 0, needed);
        }

        return Convert.TryFromBase64Chars(System.Text.Encoding.ASCII.GetString(base64), _unwrapped, out var written) ? _unwrapped.AsSpan(0, written) : payload;
    }

    public override void Dispose()
    {
        base.Dispose();
        ArrayPool<byte>.Shared.Return(_unwrapped);
        _unwrapped = [];
    }
}
