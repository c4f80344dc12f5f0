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
internal sealed class EventStreamReader : IStreamFrames
{
    public const string MediaType = "application/vnd.amazon.eventstream";
    private const int PreludeLength = 12;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private byte[] _unwrapped = ArrayPool<byte>.Shared.Rent(4 * 1024);
    private readonly byte[] _name = new byte[64];
    private int _start;
    private int _end;

    public ReadOnlyMemory<byte> LastRead { get; private set; }

    public async ValueTask<bool> FillAsync(Stream stream, CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Grow(ref _buffer, _end, _buffer.Length * 2);
        }

        var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        LastRead = _buffer.AsMemory(_end, read);
        _end += read;
        return read > 0;
    }

    public bool TryRead(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data)
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

    public bool TryReadTrailing(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data)
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

    private static void Grow(ref byte[] buffer, int used, int minimum)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, minimum));
        Buffer.BlockCopy(buffer, 0, bigger, 0, used);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = bigger;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        ArrayPool<byte>.Shared.Return(_unwrapped);
        _buffer = [];
        _unwrapped = [];
    }
}
