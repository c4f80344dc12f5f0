using System.Buffers;
using System.Text.Json;

namespace LlmMiddleware.Protocols;

/// <summary>
/// Rewrites the top-level <c>model</c> of a request body, leaving every other byte as the caller sent it; optionally
/// also makes an OpenAI stream request ask for usage (<c>stream_options.include_usage</c>), for metering.
/// </summary>
internal static class JsonModelRewriter
{
    public static void Rewrite(ReadOnlySpan<byte> body, string model, IBufferWriter<byte> output, bool requestStreamUsage = false)
    {
        // Edits are found in one pass and applied in order: (start, end) is replaced by the model or by a literal.
        Span<(int Start, int End, Replacement With)> edits = stackalloc (int, int, Replacement)[2];
        var count = 0;
        var sawStreamOptions = false;
        var reader = new Utf8JsonReader(body);
        reader.Read();
        var anyProperty = false;
        while (reader.Read() && reader.CurrentDepth == 1)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }

                continue;
            }

            anyProperty = true;
            if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals(model))
                {
                    edits[count++] = ((int)reader.TokenStartIndex, (int)reader.BytesConsumed, Replacement.Model);
                }
            }
            else if (requestStreamUsage && reader.ValueTextEquals("stream_options"u8))
            {
                sawStreamOptions = true;
                reader.Read();
                if (FindStreamUsageEdit(ref reader) is { } edit)
                {
                    edits[count++] = edit;
                }
            }
            else
            {
                reader.Read();
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }
        }

        if (requestStreamUsage && !sawStreamOptions)
        {
            var end = (int)reader.TokenStartIndex; // the root's closing brace
            edits[count++] = (end, end, anyProperty ? Replacement.AppendStreamOptions : Replacement.OnlyStreamOptions);
        }

        var written = 0;
        if (count == 2 && edits[0].Start > edits[1].Start)
        {
            (edits[0], edits[1]) = (edits[1], edits[0]);
        }

        foreach (var (start, end, with) in edits[..count])
        {
            Json.Write(output, body[written..start]);
            if (with == Replacement.Model)
            {
                WriteLiteral(model, output);
            }
            else
            {
                Json.Write(output, Literal(with));
            }

            written = end;
        }

        Json.Write(output, body[written..]);
    }

    private static ReadOnlySpan<byte> Literal(Replacement with) => with switch
    {
        Replacement.True => "true"u8,
        Replacement.IncludeUsageFirst => "\"include_usage\":true,"u8,
        Replacement.StreamOptionsObject => "{\"include_usage\":true}"u8,
        Replacement.AppendStreamOptions => ",\"stream_options\":{\"include_usage\":true}"u8,
        _ => "\"stream_options\":{\"include_usage\":true}"u8,
    };

    /// <summary>What an edit puts in place of the bytes it replaces.</summary>
    private enum Replacement
    {
        /// <summary>The new model name.</summary>
        Model,

        /// <summary><c>include_usage: false</c> (or any non-true value) becomes <c>true</c>.</summary>
        True,

        /// <summary>Inserted at the start of a non-empty <c>stream_options</c>.</summary>
        IncludeUsageFirst,

        /// <summary>Replaces <c>stream_options: null</c> or an empty object.</summary>
        StreamOptionsObject,

        /// <summary>Appended after the body's last property.</summary>
        AppendStreamOptions,

        /// <summary>Put into an empty body object.</summary>
        OnlyStreamOptions,
    }

    /// <summary>With the reader on the value of <c>stream_options</c>: the edit that makes it ask for usage, if any.</summary>
    private static (int, int, Replacement)? FindStreamUsageEdit(ref Utf8JsonReader reader)
    {
        var valueStart = (int)reader.TokenStartIndex;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            // null (or anything else the provider would reject anyway) becomes the object it should be.
            reader.Skip();
            return (valueStart, (int)reader.BytesConsumed, Replacement.StreamOptionsObject);
        }

        var empty = true;
        (int, int, Replacement)? edit = null;
        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            empty = false;
            var isIncludeUsage = reader.ValueTextEquals("include_usage"u8);
            reader.Read();
            if (isIncludeUsage)
            {
                found = true;
                edit = reader.TokenType == JsonTokenType.True ? null : ((int)reader.TokenStartIndex, (int)reader.BytesConsumed, Replacement.True);
            }

            reader.Skip();
        }

        // The reader is on the object's closing brace.
        return found ? edit : empty ? (valueStart, (int)reader.BytesConsumed, Replacement.StreamOptionsObject) : (valueStart + 1, valueStart + 1, Replacement.IncludeUsageFirst);
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
