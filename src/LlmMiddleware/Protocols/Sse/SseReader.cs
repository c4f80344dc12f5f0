using System.Buffers;

namespace LlmMiddleware.Protocols.Sse;

/// <summary>
/// Incremental server-sent-events parser over pooled buffers. <see cref="TryRead"/> yields complete events whose
/// spans stay valid until the next call; comments (<c>: ping</c>, <c>: OPENROUTER PROCESSING</c>) are skipped.
/// </summary>
internal sealed class SseReader : BufferedFrames
{
    private byte[] _data = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private readonly byte[] _event = new byte[64];
    private int _dataLength;
    private int _eventLength;
    private bool _hasData;

    /// <summary>Returns the next complete event in the buffer, if any.</summary>
    public override bool TryRead(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data)
    {
        while (TryReadLine(out var line))
        {
            if (line.IsEmpty)
            {
                if (_hasData)
                {
                    eventName = _event.AsSpan(0, _eventLength);
                    data = _data.AsSpan(0, _dataLength);
                    _hasData = false;
                    _dataLength = 0;
                    _eventLength = 0;
                    return true;
                }

                _eventLength = 0;
                continue;
            }

            if (line[0] == (byte)':')
            {
                continue;
            }

            var colon = line.IndexOf((byte)':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? [] : line[(colon + 1)..];
            if (!value.IsEmpty && value[0] == (byte)' ')
            {
                value = value[1..];
            }

            if (field.SequenceEqual("data"u8))
            {
                AppendData(value);
            }
            else if (field.SequenceEqual("event"u8))
            {
                _eventLength = Math.Min(value.Length, _event.Length);
                value[.._eventLength].CopyTo(_event);
            }
        }

        eventName = default;
        data = default;
        return false;
    }

    /// <summary>At end of stream: returns an event whose lines were complete but which lacked the final blank line.</summary>
    public override bool TryReadTrailing(out ReadOnlySpan<byte> eventName, out ReadOnlySpan<byte> data)
    {
        if (_hasData)
        {
            eventName = _event.AsSpan(0, _eventLength);
            data = _data.AsSpan(0, _dataLength);
            _hasData = false;
            _dataLength = 0;
            return true;
        }

        eventName = default;
        data = default;
        return false;
    }

    private bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        var remaining = _buffer.AsSpan(_start, _end - _start);
        var index = remaining.IndexOfAny((byte)'\n', (byte)'\r');
        if (index < 0)
        {
            line = default;
            return false;
        }

        var consumed = index + 1;
        if (remaining[index] == (byte)'\r')
        {
            if (index + 1 >= remaining.Length)
            {
                // A lone CR at the end of the buffer may be the first half of CRLF: wait for more bytes.
                line = default;
                return false;
            }

            if (remaining[index + 1] == (byte)'\n')
            {
                consumed++;
            }
        }

        line = remaining[..index];
        _start += consumed;
        return true;
    }

    private void AppendData(ReadOnlySpan<byte> value)
    {
        var needed = _dataLength + value.Length + 1;
        if (needed > _data.Length)
        {
            Grow(ref _data, _dataLength, needed);
        }

        if (_hasData)
        {
            _data[_dataLength++] = (byte)'\n';
        }

        value.CopyTo(_data.AsSpan(_dataLength));
        _dataLength += value.Length;
        _hasData = true;
    }

    public override void Dispose()
    {
        base.Dispose();
        ArrayPool<byte>.Shared.Return(_data);
        _data = [];
    }
}
