using System.Buffers;
using System.Text.Json;

namespace LlmMiddleware.Protocols.Anthropic;

/// <summary>Reads and writes non-streamed Anthropic Messages responses.</summary>
internal static class AnthropicResponseCodec
{
    public static LlmResponse Read(ReadOnlyMemory<byte> body, TranslationState state)
    {
        using var doc = JsonDocument.Parse(body, Json.DocumentOptions);
        var root = doc.RootElement;
        var response = new LlmResponse
        {
            Id = Json.String(root, "id"u8) ?? "",
            Model = Json.String(root, "model"u8) ?? "",
            Usage = ReadUsage(Json.Property(root, "usage"u8)),
            StopSequence = Json.String(root, "stop_sequence"u8),
        };

        var stop = Json.Property(root, "stop_reason"u8);
        response.FinishReason = stop.ValueKind == JsonValueKind.String ? FinishReasons.FromAnthropic(Json.Raw(stop)[1..^1]) : LlmFinishReason.Stop;
        var content = Json.Property(root, "content"u8);
        if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (var block in content.EnumerateArray())
            {
                switch (Json.String(block, "type"u8))
                {
                    case "text":
                        response.Content.Add(new LlmTextPart(Json.String(block, "text"u8) ?? ""));
                        break;
                    case "thinking":
                        response.Content.Add(new LlmReasoningPart(Json.String(block, "thinking"u8) ?? "") { Signature = Json.String(block, "signature"u8) });
                        break;
                    case "redacted_thinking":
                        response.Content.Add(new LlmReasoningPart("") { RedactedData = Json.String(block, "data"u8) });
                        break;
                    case "tool_use" when state.JsonToolMode && Json.String(block, "name"u8) == TranslationState.JsonToolName:
                        response.Content.Add(new LlmTextPart(Json.Property(block, "input"u8).GetRawText()));
                        response.FinishReason = LlmFinishReason.Stop;
                        break;
                    case "tool_use":
                        var input = Json.Property(block, "input"u8);
                        response.Content.Add(new LlmToolCallPart(
                            Json.String(block, "id"u8) ?? "",
                            state.RestoreToolName(Json.String(block, "name"u8) ?? ""),
                            input.ValueKind == JsonValueKind.Object ? input.GetRawText() : "{}"));
                        break;
                }
            }
        }

        return response;
    }

    /// <summary>Anthropic counts uncached input, cache reads and cache writes separately; the neutral form sums them.</summary>
    public static LlmUsage ReadUsage(JsonElement usage, LlmUsage previous = default)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return previous;
        }

        var hasInput = usage.TryGetProperty("input_tokens"u8, out _);
        var cacheRead = usage.TryGetProperty("cache_read_input_tokens"u8, out _) ? Json.Long(usage, "cache_read_input_tokens"u8) : previous.CachedInputTokens;
        var cacheWrite = usage.TryGetProperty("cache_creation_input_tokens"u8, out _) ? Json.Long(usage, "cache_creation_input_tokens"u8) : previous.CacheWriteInputTokens;
        var uncached = hasInput ? Json.Long(usage, "input_tokens"u8) : previous.InputTokens - previous.CachedInputTokens - previous.CacheWriteInputTokens;
        return new LlmUsage
        {
            InputTokens = uncached + cacheRead + cacheWrite,
            CachedInputTokens = cacheRead,
            CacheWriteInputTokens = cacheWrite,
            OutputTokens = usage.TryGetProperty("output_tokens"u8, out _) ? Json.Long(usage, "output_tokens"u8) : previous.OutputTokens,
            ReasoningTokens = Json.Long(Json.Property(usage, "output_tokens_details"u8), "thinking_tokens"u8) is var thinking and > 0 ? thinking : previous.ReasoningTokens,
        };
    }

    public static void Write(LlmResponse response, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("id"u8, AnthropicStreamWriter.MessageId(response.Id));
        writer.WriteString("type"u8, "message"u8);
        writer.WriteString("role"u8, "assistant"u8);
        writer.WriteString("model"u8, response.Model);
        writer.WriteStartArray("content"u8);
        foreach (var part in response.Content)
        {
            switch (part)
            {
                case LlmReasoningPart { RedactedData: { } data }:
                    writer.WriteStartObject();
                    writer.WriteString("type"u8, "redacted_thinking"u8);
                    writer.WriteString("data"u8, data);
                    writer.WriteEndObject();
                    break;
                case LlmReasoningPart reasoning:
                    writer.WriteStartObject();
                    writer.WriteString("type"u8, "thinking"u8);
                    writer.WriteString("thinking"u8, reasoning.Text);
                    writer.WriteString("signature"u8, reasoning.Signature ?? "");
                    writer.WriteEndObject();
                    break;
                case LlmTextPart { Text.Length: > 0 } text:
                    writer.WriteStartObject();
                    writer.WriteString("type"u8, "text"u8);
                    writer.WriteString("text"u8, text.Text);
                    writer.WriteEndObject();
                    break;
                case LlmToolCallPart call:
                    writer.WriteStartObject();
                    writer.WriteString("type"u8, "tool_use"u8);
                    writer.WriteString("id"u8, ToolSchemas.SanitizeId(call.Id));
                    writer.WriteString("name"u8, call.Name);
                    writer.WritePropertyName("input"u8);
                    Json.WriteRawJson(writer, Json.NormalizeObjectJson(call.ArgumentsJson));
                    writer.WriteStartObject("caller"u8);
                    writer.WriteString("type"u8, "direct"u8);
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                    break;
            }
        }

        writer.WriteEndArray();
        writer.WriteString("stop_reason"u8, FinishReasons.ToAnthropic(response.FinishReason));
        if (response.FinishReason == LlmFinishReason.StopSequence && response.StopSequence is { } stopSequence)
        {
            writer.WriteString("stop_sequence"u8, stopSequence);
        }
        else
        {
            writer.WriteNull("stop_sequence"u8);
        }

        writer.WritePropertyName("usage"u8);
        WriteUsage(writer, response.Usage);
        writer.WriteEndObject();
    }

    /// <summary>Writes the usage object with OpenAI→Anthropic arithmetic: input = max(total − cached − cache writes, 0).</summary>
    public static void WriteUsage(Utf8JsonWriter writer, in LlmUsage usage)
    {
        writer.WriteStartObject();
        writer.WriteNumber("input_tokens"u8, Math.Max(usage.InputTokens - usage.CachedInputTokens - usage.CacheWriteInputTokens, 0));
        writer.WriteNumber("cache_creation_input_tokens"u8, usage.CacheWriteInputTokens);
        writer.WriteNumber("cache_read_input_tokens"u8, usage.CachedInputTokens);
        writer.WriteNumber("output_tokens"u8, usage.OutputTokens);
        writer.WriteEndObject();
    }
}
