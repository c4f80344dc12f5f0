using System.Buffers;
using System.Text.Json;

namespace LlmMiddleware.Protocols;

/// <summary>Rewrites the top-level <c>model</c> of a request body in place, leaving every other byte as the caller sent it.</summary>
internal static class JsonModelRewriter
{
    public static void Rewrite(ReadOnlySpan<byte> body, string model, IBufferWriter<byte> output)
    {
        var reader = new Utf8JsonReader(body);
        reader.Read();
        while (reader.Read() && reader.CurrentDepth == 1)
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                var end = (int)reader.BytesConsumed;
                if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(model))
                {
                    break;
                }

                Json.Write(output, body[..start]);
                WriteLiteral(model, output);
                Json.Write(output, body[end..]);
                return;
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }
        }

        Json.Write(output, body);
    }

    /// <summary>Model names are plain ASCII in practice: written without an encoder; anything else is escaped properly.</summary>
    private static void WriteLiteral(string model, IBufferWriter<byte> output)
    {
        foreach (var c in model)
        {
            if (c is < ' ' or > '~' or '"' or '\\')
            {
                Json.Write(output, Json.EncodeLiteral(model));
                return;
            }
        }

        var span = output.GetSpan(model.Length + 2);
        span[0] = (byte)'"';
        System.Text.Encoding.ASCII.GetBytes(model, span[1..]);
        span[model.Length + 1] = (byte)'"';
        output.Advance(model.Length + 2);
    }
}
