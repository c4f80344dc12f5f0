using System.Buffers.Binary;

namespace LlmMiddleware.Protocols;

/// <summary>An image's size in pixels, read from the PNG, GIF or JPEG header of its data, for the providers' image token rules.</summary>
internal static class ImageSize
{
    /// <summary>The image's size; a remote image, or data of unknown format, is taken to be 1024 × 1024.</summary>
    public static (int Width, int Height) Read(LlmImagePart image) => TryRead(image) ?? (1024, 1024);

    private static (int Width, int Height)? TryRead(LlmImagePart image)
    {
        // The header is in the first few hundred bytes; decode only those.
        Span<byte> head = stackalloc byte[768];
        int length;
        if (!image.Bytes.IsEmpty)
        {
            length = Math.Min(head.Length, image.Bytes.Length);
            image.Bytes.Span[..length].CopyTo(head);
        }
        else
        {
            var data = image.Data;
            if (data is null && image.Url is { } url && DataUrl.TryParse(url, out _, out var inline))
            {
                data = inline;
            }

            if (data is null || !Convert.TryFromBase64Chars(data.AsSpan(0, Math.Min(data.Length, 1024) & ~3), head, out length))
            {
                return null;
            }
        }

        head = head[..length];
        if (length >= 24 && head[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return ((int)BinaryPrimitives.ReadUInt32BigEndian(head[16..]), (int)BinaryPrimitives.ReadUInt32BigEndian(head[20..]));
        }

        if (length >= 10 && head[..3].SequenceEqual("GIF"u8))
        {
            return (BinaryPrimitives.ReadUInt16LittleEndian(head[6..]), BinaryPrimitives.ReadUInt16LittleEndian(head[8..]));
        }

        // JPEG: walk the segments to the start-of-frame marker.
        for (var i = 2; length >= 4 && head[0] == 0xFF && head[1] == 0xD8 && i + 9 < length;)
        {
            if (head[i] != 0xFF)
            {
                break;
            }

            var marker = head[i + 1];
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                return (BinaryPrimitives.ReadUInt16BigEndian(head[(i + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(head[(i + 5)..]));
            }

            i += 2 + BinaryPrimitives.ReadUInt16BigEndian(head[(i + 2)..]);
        }

        return null;
    }
}
