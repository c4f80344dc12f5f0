using System.Text;
using System.Text.Json;

namespace LlmMiddleware.Protocols;

/// <summary>Tool-schema and tool-id rules that differ between providers.</summary>
internal static class ToolSchemas
{
    public const string EmptyObjectSchema = """{"type":"object","properties":{}}""";

    /// <summary>Anthropic and OpenAI accept <c>^[a-zA-Z0-9_-]+$</c> ids; the same input always maps to the same id, so a
    /// <c>tool_use.id</c> and the <c>tool_result.tool_use_id</c> that answers it stay paired.</summary>
    public static string SanitizeId(string id, int maxLength = int.MaxValue)
    {
        if (id.Length == 0)
        {
            return "call_" + Guid.NewGuid().ToString("N")[..16];
        }

        var clean = true;
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                clean = false;
                break;
            }
        }

        if (clean && id.Length <= maxLength)
        {
            return id;
        }

        var builder = new StringBuilder(id.Length);
        foreach (var c in id)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_');
        }

        var sanitized = builder.ToString();
        return sanitized.Length <= maxLength ? sanitized : sanitized[..(maxLength - 17)] + "_" + Hash(id, 16);
    }

    /// <summary>Anthropic requires <c>input_schema</c> to declare <c>"type":"object"</c>; schemas that leave it implicit get it.</summary>
    public static string EnsureObjectType(string schemaJson)
    {
        var trimmed = schemaJson.AsSpan().TrimStart();
        if (trimmed.StartsWith("{\"type\":", StringComparison.Ordinal))
        {
            return schemaJson;
        }

        using var schema = JsonDocument.Parse(schemaJson);
        if (schema.RootElement.ValueKind != JsonValueKind.Object)
        {
            return EmptyObjectSchema;
        }

        if (schema.RootElement.TryGetProperty("type"u8, out _))
        {
            return schemaJson;
        }

        var rest = schemaJson.Trim()[1..].TrimStart();
        return rest.StartsWith('}') ? """{"type":"object"}""" : """{"type":"object",""" + rest;
    }

    /// <summary>The 400 for content or tools that only the caller's own protocol can carry.</summary>
    private static LlmGatewayException NotTranslatable(string what, LlmProtocol protocol) =>
        Json.Invalid($"{what} from an {(protocol == LlmProtocol.AnthropicMessages ? "Anthropic" : "OpenAI")} request cannot be sent to a provider that speaks another protocol.");

    /// <summary>Refuses content that only another protocol can carry, instead of dropping it silently.</summary>
    public static void EnsureTranslatable(LlmRequest request, LlmProtocol target)
    {
        foreach (var message in request.Messages)
        {
            foreach (var part in message.Content)
            {
                var native = part as LlmNativePart ?? (part as LlmToolResultPart)?.Content.OfType<LlmNativePart>().FirstOrDefault();
                if (native is not null && native.Protocol != target)
                {
                    throw NotTranslatable($"Content of type '{native.Type}'", native.Protocol);
                }
            }
        }

        if (request.Tools.Find(t => t.NativeProtocol is { } protocol && protocol != target) is { } tool)
        {
            throw NotTranslatable($"Tool '{tool.Name}'", tool.NativeProtocol!.Value);
        }
    }

    /// <summary>Mistral requires tool-call ids of exactly nine alphanumerics; derived deterministically.</summary>
    public static string NineCharacterId(string id)
    {
        if (id.Length == 9 && id.All(char.IsAsciiLetterOrDigit))
        {
            return id;
        }

        return Hash(id, 9);
    }

    private static string Hash(string value, int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        var bytes = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(value));
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[bytes[i] % alphabet.Length];
        }

        return new string(chars);
    }

    /// <summary>Gemini's schema dialect is an OpenAPI subset: drop keywords it rejects.</summary>
    public static void WriteGeminiSchema(Utf8JsonWriter writer, JsonElement schema)
    {
        switch (schema.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in schema.EnumerateObject())
                {
                    if (property.NameEquals("additionalProperties") || property.NameEquals("$schema") || property.NameEquals("$ref") ||
                        property.NameEquals("$defs") || property.NameEquals("definitions") || property.NameEquals("strict") || property.NameEquals("$id"))
                    {
                        continue;
                    }

                    writer.WritePropertyName(property.Name);
                    if (property.NameEquals("properties") && property.Value.ValueKind == JsonValueKind.Object)
                    {
                        writer.WriteStartObject();
                        foreach (var child in property.Value.EnumerateObject())
                        {
                            writer.WritePropertyName(child.Name);
                            WriteGeminiSchema(writer, child.Value);
                        }

                        writer.WriteEndObject();
                    }
                    else
                    {
                        WriteGeminiSchema(writer, property.Value);
                    }
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in schema.EnumerateArray())
                {
                    WriteGeminiSchema(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                schema.WriteTo(writer);
                break;
        }
    }
}
