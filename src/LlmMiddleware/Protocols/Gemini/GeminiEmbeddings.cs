using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;

namespace LlmMiddleware.Protocols.Gemini;

/// <summary>Gemini's <c>batchEmbedContents</c>: the request from OpenAI-shaped inputs, and the answer in OpenAI's shape.</summary>
internal static class GeminiEmbeddings
{
    public static void WriteRequest(string model, IReadOnlyList<string> inputs, int? dimensions, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        writer.WriteStartObject();
        writer.WriteStartArray("requests"u8);
        foreach (var text in inputs)
        {
            writer.WriteStartObject();
            writer.WriteString("model"u8, "models/" + model);
            writer.WriteStartObject("content"u8);
            writer.WriteStartArray("parts"u8);
            writer.WriteStartObject();
            writer.WriteString("text"u8, text);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            if (dimensions is { } d)
            {
                writer.WriteNumber("outputDimensionality"u8, d);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Gemini's embeddings answer in OpenAI's shape; Gemini reports no usage, so <paramref name="promptTokens"/>
    /// (counted by the gateway) is reported.</summary>
    public static void WriteOpenAIResponse(ReadOnlySpan<byte> geminiBody, string model, bool base64, long promptTokens, IBufferWriter<byte> output)
    {
        var reader = new Utf8JsonReader(geminiBody);
        using var doc = JsonDocument.ParseValue(ref reader);
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("object"u8, "list"u8);
        writer.WriteStartArray("data"u8);
        var index = 0;
        var embeddings = Json.Property(doc.RootElement, "embeddings"u8);
        foreach (var embedding in embeddings.ValueKind == JsonValueKind.Array ? embeddings.EnumerateArray() : default)
        {
            var values = Json.Property(embedding, "values"u8);
            writer.WriteStartObject();
            writer.WriteString("object"u8, "embedding"u8);
            writer.WriteNumber("index"u8, index++);
            if (base64)
            {
                var bytes = new byte[values.GetArrayLength() * 4];
                var i = 0;
                foreach (var value in values.EnumerateArray())
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i++ * 4), value.GetSingle());
                }

                writer.WriteBase64String("embedding"u8, bytes);
            }
            else
            {
                writer.WritePropertyName("embedding"u8);
                values.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteString("model"u8, model);
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("prompt_tokens"u8, promptTokens);
        writer.WriteNumber("total_tokens"u8, promptTokens);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
