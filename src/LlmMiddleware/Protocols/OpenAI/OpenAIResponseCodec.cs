using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols.Gemini;

namespace LlmMiddleware.Protocols.OpenAI;

/// <summary>Reads and writes non-streamed OpenAI Chat Completions responses.</summary>
internal static class OpenAIResponseCodec
{
    public static LlmResponse Read(ReadOnlyMemory<byte> body, TranslationState state)
    {
        using var doc = JsonDocument.Parse(body, Json.DocumentOptions);
        var root = doc.RootElement;
        var response = new LlmResponse
        {
            Id = Json.String(root, "id"u8) ?? "",
            Model = Json.String(root, "model"u8) ?? "",
            Created = Json.Long(root, "created"u8),
            Usage = ReadUsage(Json.Property(root, "usage"u8)),
        };

        var choices = Json.Property(root, "choices"u8);
        if (choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
        {
            var choice = choices[0];
            var message = Json.Property(choice, "message"u8);
            var reasoning = Json.String(message, "reasoning_content"u8) ?? Json.String(message, "reasoning"u8);
            if (!string.IsNullOrEmpty(reasoning))
            {
                response.Content.Add(new LlmReasoningPart(reasoning));
            }

            if (Json.String(message, "content"u8) is { Length: > 0 } text)
            {
                response.Content.Add(new LlmTextPart(text));
            }
            else if (Json.String(message, "refusal"u8) is { Length: > 0 } refusal)
            {
                response.Content.Add(new LlmTextPart(refusal));
            }

            var calls = Json.Property(message, "tool_calls"u8);
            if (calls.ValueKind == JsonValueKind.Array)
            {
                foreach (var call in calls.EnumerateArray())
                {
                    var function = Json.Property(call, "function"u8);
                    var arguments = Json.Property(function, "arguments"u8);
                    var argumentsJson = arguments.ValueKind == JsonValueKind.Object ? arguments.GetRawText() : Json.NormalizeObjectJson(Json.String(function, "arguments"u8));
                    response.Content.Add(new LlmToolCallPart(
                        GeminiThoughtSignatures.Attach(Json.String(call, "id"u8) is { Length: > 0 } id ? id : ToolSchemas.SanitizeId(""), GeminiThoughtSignatures.FromOpenAIToolCall(call)),
                        state.RestoreToolName(Json.String(function, "name"u8) ?? ""),
                        argumentsJson));
                }
            }

            var finish = Json.Property(choice, "finish_reason"u8);
            response.FinishReason = finish.ValueKind == JsonValueKind.String ? FinishReasons.FromOpenAI(Json.Raw(finish)[1..^1]) : LlmFinishReason.Stop;
            if (response.FinishReason == LlmFinishReason.Stop && response.Content.Exists(p => p is LlmToolCallPart))
            {
                // Gemini's OpenAI endpoint reports "stop" for tool calls.
                response.FinishReason = LlmFinishReason.ToolCalls;
            }
        }

        return response;
    }

    public static LlmUsage ReadUsage(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return default;
        }

        return new LlmUsage
        {
            InputTokens = Json.Long(usage, "prompt_tokens"u8),
            OutputTokens = Json.Long(usage, "completion_tokens"u8),
            CachedInputTokens = Json.Long(Json.Property(usage, "prompt_tokens_details"u8), "cached_tokens"u8),
            CacheWriteInputTokens = Json.Long(Json.Property(usage, "prompt_tokens_details"u8), "cache_write_tokens"u8),
            ReasoningTokens = Json.Long(Json.Property(usage, "completion_tokens_details"u8), "reasoning_tokens"u8),
        };
    }

    public static void Write(LlmResponse response, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("id"u8, OpenAIStreamWriter.ChatId(response.Id));
        writer.WriteString("object"u8, "chat.completion"u8);
        writer.WriteNumber("created"u8, response.Created);
        writer.WriteString("model"u8, response.Model);
        writer.WriteStartArray("choices"u8);
        writer.WriteStartObject();
        writer.WriteNumber("index"u8, 0);
        writer.WriteStartObject("message"u8);
        writer.WriteString("role"u8, "assistant"u8);
        var text = OpenAIRequestWriter.JoinText(response.Content);
        var hasToolCalls = response.Content.Exists(p => p is LlmToolCallPart);
        if (text.Length > 0 || !hasToolCalls)
        {
            writer.WriteString("content"u8, text);
        }
        else
        {
            writer.WriteNull("content"u8);
        }

        writer.WriteNull("refusal"u8);
        var reasoning = string.Concat(response.Content.OfType<LlmReasoningPart>().Select(r => r.Text));
        if (reasoning.Length > 0)
        {
            writer.WriteString("reasoning_content"u8, reasoning);
        }

        if (hasToolCalls)
        {
            writer.WriteStartArray("tool_calls"u8);
            foreach (var call in response.Content.OfType<LlmToolCallPart>())
            {
                writer.WriteStartObject();
                writer.WriteString("id"u8, call.Id);
                writer.WriteString("type"u8, "function"u8);
                writer.WriteStartObject("function"u8);
                writer.WriteString("name"u8, call.Name);
                writer.WriteString("arguments"u8, call.ArgumentsJson);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        writer.WriteNull("logprobs"u8);
        writer.WriteString("finish_reason"u8, FinishReasons.ToOpenAI(response.FinishReason));
        writer.WriteEndObject();
        writer.WriteEndArray();
        WriteUsage(writer, response.Usage);
        writer.WriteEndObject();
    }

    public static void WriteUsage(Utf8JsonWriter writer, in LlmUsage usage)
    {
        writer.WritePropertyName("usage"u8);
        WriteUsageObject(writer, usage);
    }

    public static void WriteUsageObject(Utf8JsonWriter writer, in LlmUsage usage)
    {
        writer.WriteStartObject();
        writer.WriteNumber("prompt_tokens"u8, usage.InputTokens);
        writer.WriteNumber("completion_tokens"u8, usage.OutputTokens);
        writer.WriteNumber("total_tokens"u8, usage.TotalTokens);
        writer.WriteStartObject("prompt_tokens_details"u8);
        writer.WriteNumber("cached_tokens"u8, usage.CachedInputTokens);
        if (usage.CacheWriteInputTokens > 0)
        {
            writer.WriteNumber("cache_write_tokens"u8, usage.CacheWriteInputTokens);
        }

        writer.WriteEndObject();
        writer.WriteStartObject("completion_tokens_details"u8);
        writer.WriteNumber("reasoning_tokens"u8, usage.ReasoningTokens);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
