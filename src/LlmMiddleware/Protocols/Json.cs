using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LlmMiddleware.Protocols;

/// <summary>JSON helpers shared by the protocol codecs.</summary>
internal static class Json
{
    /// <summary>Relaxed escaping keeps non-ASCII text readable and byte-identical to what providers send.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128 };

    /// <summary>
    /// A caller's body: no duplicate fields (the gateway would act on one "model" while a provider reads another) and
    /// at most 64 levels deep, the depth every schema, argument or part re-read from it must then fit in too.
    /// </summary>
    public static readonly JsonDocumentOptions RequestOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>The raw UTF-8 of an element as it appeared in the source (strings keep their quotes and escapes).</summary>
    public static ReadOnlySpan<byte> Raw(JsonElement element) => JsonMarshal.GetRawUtf8Value(element);

    /// <summary>Parses a caller's body under <see cref="RequestOptions"/>; anything else is a 400.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string what)
    {
        try
        {
            return JsonDocument.Parse(utf8, RequestOptions);
        }
        catch (JsonException ex)
        {
            throw Invalid($"The {what} is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>The object's properties outside <paramref name="modeled"/>, as raw JSON; <see langword="null"/> when none.</summary>
    public static List<KeyValuePair<string, string>>? Unmodeled(JsonElement root, System.Collections.Frozen.FrozenSet<string> modeled)
    {
        List<KeyValuePair<string, string>>? unmodeled = null;
        var lookup = modeled.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<char> name = stackalloc char[64];
        foreach (var property in root.EnumerateObject())
        {
            // Matched without making the name a string: names are short and unescaped in practice; any other is decoded.
            var raw = JsonMarshal.GetRawUtf8PropertyName(property);
            var isModeled = raw.Length <= name.Length && !raw.Contains((byte)'\\') && Encoding.UTF8.TryGetChars(raw, name, out var length)
                ? lookup.Contains(name[..length])
                : modeled.Contains(property.Name);
            if (!isModeled)
            {
                (unmodeled ??= []).Add(new(property.Name, property.Value.GetRawText()));
            }
        }

        return unmodeled;
    }

    public static LlmGatewayException Invalid(string message, string? param = null) =>
        new(new LlmError(LlmErrorKind.InvalidRequest, message) { Param = param });

    // Property names are UTF-8 literals ("model"u8): looked up without transcoding, made strings only for an error.
    private static LlmGatewayException MustBe(ReadOnlySpan<byte> name, string what)
    {
        var text = Encoding.UTF8.GetString(name);
        return Invalid($"'{text}' must be {what}.", text);
    }

    public static string? OptionalString(JsonElement obj, ReadOnlySpan<byte> name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw MustBe(name, "a string");
    }

    public static double? OptionalNumber(JsonElement obj, ReadOnlySpan<byte> name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw MustBe(name, "a number");
    }

    public static int? OptionalInt(JsonElement obj, ReadOnlySpan<byte> name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var i) ? i : throw MustBe(name, "an integer");
    }

    public static long? OptionalLong(JsonElement obj, ReadOnlySpan<byte> name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var i) ? i : throw MustBe(name, "an integer");
    }

    public static bool? OptionalBool(JsonElement obj, ReadOnlySpan<byte> name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw MustBe(name, "a boolean"),
        };
    }

    public static long Long(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var l) ? l : 0;

    public static string? String(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>The raw JSON of an object-valued property, or <see langword="null"/>.</summary>
    public static string? RawObject(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v.GetRawText() : null;

    public static JsonElement Property(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) ? v : default;

    /// <summary>Parses JSON text that should be an object (tool arguments); empty or invalid text becomes <c>{}</c>.</summary>
    public static string NormalizeObjectJson(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return "{}";
        }

        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? json : "{}";
        }
        catch (JsonException)
        {
            return "{}";
        }
    }

    /// <summary>Writes JSON text that is known to be valid as a raw value.</summary>
    public static void WriteRawJson(Utf8JsonWriter writer, string json) => writer.WriteRawValue(json, skipInputValidation: true);

    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var span = output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        output.Advance(bytes.Length);
    }

    /// <summary>Encodes plain text as a JSON string literal (with quotes), for sinks that take literals.</summary>
    public static byte[] EncodeLiteral(string text)
    {
        var buffer = new ArrayBufferWriter<byte>(text.Length + 16);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStringValue(text);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes raw UTF-8 JSON text (such as an arguments object) as a JSON string literal.</summary>
    public static byte[] EncodeLiteral(ReadOnlySpan<byte> utf8)
    {
        var buffer = new ArrayBufferWriter<byte>(utf8.Length + 16);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStringValue(utf8);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a JSON string literal (with quotes) to a string.</summary>
    public static string DecodeLiteral(ReadOnlySpan<byte> literal)
    {
        var reader = new Utf8JsonReader(literal);
        reader.Read();
        return reader.GetString() ?? "";
    }
}

internal static class JsonElementExtensions
{
    /// <summary>The raw length of a string element, quotes included; &gt; 2 means non-empty.</summary>
    public static int RawLength(this JsonElement element) => Json.Raw(element).Length;
}
