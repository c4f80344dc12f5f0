using System.Buffers;
using System.Text.Json;

namespace LlmMiddleware.Protocols.Responses;

/// <summary>
/// The Responses response object and its output items, shared by the complete answer and the stream's
/// <c>response.created</c>/<c>response.completed</c> events. The object carries the fields the SDKs read; the gateway
/// stores nothing, so <c>store</c> is always false.
/// </summary>
internal static class ResponsesOutput
{
    public static string ResponseId(string id) => id.StartsWith("resp_", StringComparison.Ordinal) ? id : "resp_" + (id.Length > 0 ? Sanitize(id) : Guid.NewGuid().ToString("N"));

    /// <summary>An item id derived from the response's, unique within it.</summary>
    public static string ItemId(string prefix, string responseId, int outputIndex) => $"{prefix}_{responseId[5..]}_{outputIndex}";

    public static (string Status, string? IncompleteReason) Status(LlmFinishReason reason) => reason switch
    {
        LlmFinishReason.Length => ("incomplete", "max_output_tokens"),
        LlmFinishReason.ContentFilter => ("incomplete", "content_filter"),
        _ => ("completed", null),
    };

    /// <summary>Writes the response object; <paramref name="writeOutput"/> writes the items of its <c>output</c> array.</summary>
    public static void WriteResponse<TState>(Utf8JsonWriter writer, string id, string model, long created, string status, string? incompleteReason, LlmUsage? usage, TState state, Action<Utf8JsonWriter, TState> writeOutput)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, id);
        writer.WriteString("object"u8, "response"u8);
        writer.WriteNumber("created_at"u8, created);
        writer.WriteString("status"u8, status);
        writer.WriteNull("error"u8);
        if (incompleteReason is null)
        {
            writer.WriteNull("incomplete_details"u8);
        }
        else
        {
            writer.WriteStartObject("incomplete_details"u8);
            writer.WriteString("reason"u8, incompleteReason);
            writer.WriteEndObject();
        }

        writer.WriteString("model"u8, model);
        writer.WriteStartArray("output"u8);
        writeOutput(writer, state);
        writer.WriteEndArray();
        writer.WriteBoolean("parallel_tool_calls"u8, true);
        writer.WriteBoolean("store"u8, false);
        writer.WriteString("tool_choice"u8, "auto"u8);
        writer.WriteStartArray("tools"u8);
        writer.WriteEndArray();
        writer.WriteStartObject("text"u8);
        writer.WriteStartObject("format"u8);
        writer.WriteString("type"u8, "text"u8);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteString("truncation"u8, "disabled"u8);
        writer.WriteStartObject("metadata"u8);
        writer.WriteEndObject();
        if (usage is { } u)
        {
            writer.WritePropertyName("usage"u8);
            WriteUsage(writer, u);
        }
        else
        {
            writer.WriteNull("usage"u8);
        }

        writer.WriteEndObject();
    }

    public static void WriteUsage(Utf8JsonWriter writer, in LlmUsage usage)
    {
        writer.WriteStartObject();
        writer.WriteNumber("input_tokens"u8, usage.InputTokens);
        writer.WriteStartObject("input_tokens_details"u8);
        writer.WriteNumber("cached_tokens"u8, usage.CachedInputTokens);
        writer.WriteEndObject();
        writer.WriteNumber("output_tokens"u8, usage.OutputTokens);
        writer.WriteStartObject("output_tokens_details"u8);
        writer.WriteNumber("reasoning_tokens"u8, usage.ReasoningTokens);
        writer.WriteEndObject();
        writer.WriteNumber("total_tokens"u8, usage.TotalTokens);
        writer.WriteEndObject();
    }

    /// <summary>A message item; <paramref name="escapedText"/> is the text's JSON string content (escaped, no quotes).</summary>
    public static void WriteMessage(Utf8JsonWriter writer, string itemId, string status, ReadOnlySpan<byte> escapedText, bool withPart)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, itemId);
        writer.WriteString("type"u8, "message"u8);
        writer.WriteString("status"u8, status);
        writer.WriteString("role"u8, "assistant"u8);
        writer.WriteStartArray("content"u8);
        if (withPart)
        {
            WriteTextPart(writer, escapedText);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WriteTextPart(Utf8JsonWriter writer, ReadOnlySpan<byte> escapedText)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "output_text"u8);
        WriteEscaped(writer, "text"u8, escapedText);
        writer.WriteStartArray("annotations"u8);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WriteFunctionCall(Utf8JsonWriter writer, string itemId, string callId, string name, string status, ReadOnlySpan<byte> escapedArguments)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, itemId);
        writer.WriteString("type"u8, "function_call"u8);
        writer.WriteString("status"u8, status);
        writer.WriteString("call_id"u8, callId);
        writer.WriteString("name"u8, name);
        WriteEscaped(writer, "arguments"u8, escapedArguments);
        writer.WriteEndObject();
    }

    /// <summary>A reasoning item: its text as a summary, and a provider's thinking signature as <c>encrypted_content</c>,
    /// which the SDKs send back with the item so a tool loop keeps Anthropic's thinking valid.</summary>
    public static void WriteReasoning(Utf8JsonWriter writer, string itemId, ReadOnlySpan<byte> escapedText, ReadOnlySpan<byte> escapedSignature)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, itemId);
        writer.WriteString("type"u8, "reasoning"u8);
        writer.WriteStartArray("summary"u8);
        if (!escapedText.IsEmpty)
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "summary_text"u8);
            WriteEscaped(writer, "text"u8, escapedText);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (!escapedSignature.IsEmpty)
        {
            WriteEscaped(writer, "encrypted_content"u8, escapedSignature);
        }

        writer.WriteEndObject();
    }

    /// <summary>A string property from content already escaped as JSON: written as it is, between quotes.</summary>
    public static void WriteEscaped(Utf8JsonWriter writer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> escaped)
    {
        writer.WritePropertyName(name);
        var length = escaped.Length + 2;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        rented[0] = (byte)'"';
        escaped.CopyTo(rented.AsSpan(1));
        rented[length - 1] = (byte)'"';
        writer.WriteRawValue(rented.AsSpan(0, length), skipInputValidation: true);
        ArrayPool<byte>.Shared.Return(rented);
    }

    private static string Sanitize(string id) => string.Concat(id.Where(char.IsAsciiLetterOrDigit));
}
