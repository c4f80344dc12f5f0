using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace LlmMiddleware.Protocols;

/// <summary><c>data:&lt;mime&gt;;base64,&lt;data&gt;</c> URLs, and an inline image's base64 as JSON.</summary>
internal static class DataUrl
{
    /// <summary>Writes an inline image's base64 as a string property, encoded straight from its bytes when it has them.</summary>
    public static void WriteBase64(Utf8JsonWriter writer, ReadOnlySpan<byte> property, LlmImagePart image)
    {
        if (image.Bytes.IsEmpty)
        {
            writer.WriteString(property, image.Data ?? "");
        }
        else
        {
            writer.WriteBase64String(property, image.Bytes.Span);
        }
    }

    /// <summary>Writes an inline image as a <c>data:</c> URL string property, through a pooled buffer when it has bytes.</summary>
    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> property, LlmImagePart image)
    {
        var mediaType = image.MediaType ?? "image/png";
        if (image.Bytes.IsEmpty)
        {
            writer.WriteString(property, Create(mediaType, image.Data ?? ""));
            return;
        }

        var prefix = Encoding.UTF8.GetByteCount(mediaType) + "data:;base64,".Length;
        var buffer = ArrayPool<byte>.Shared.Rent(prefix + Base64.GetMaxEncodedToUtf8Length(image.Bytes.Length));
        try
        {
            var at = Encoding.UTF8.GetBytes($"data:{mediaType};base64,", buffer);
            Base64.EncodeToUtf8(image.Bytes.Span, buffer.AsSpan(at), out _, out var written);
            writer.WriteString(property, buffer.AsSpan(0, at + written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static bool TryParse(string url, out string mediaType, out string data)
    {
        mediaType = "";
        data = "";
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var comma = url.IndexOf(',');
        var marker = url.IndexOf(";base64", StringComparison.OrdinalIgnoreCase);
        if (comma < 0 || marker < 0 || marker > comma)
        {
            return false;
        }

        mediaType = url[5..marker];
        data = url[(comma + 1)..];
        return true;
    }

    public static string Create(string mediaType, string data) => $"data:{mediaType};base64,{data}";
}
