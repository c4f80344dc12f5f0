using System.Buffers;
using System.Text.Json;

namespace LlmMiddleware.Protocols.Bedrock;

/// <summary>
/// Writes an <see cref="LlmRequest"/> as a Bedrock Converse request: alternating user/assistant turns of text, image,
/// <c>toolUse</c>, <c>toolResult</c> and <c>reasoningContent</c> blocks, <c>system</c>, <c>inferenceConfig</c> and
/// <c>toolConfig</c>. The model is in the URL.
/// </summary>
internal static class BedrockConverseWriter
{
    public static void Write(LlmRequest request, int defaultMaxTokens, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        writer.WriteStartObject();
        writer.WriteStartArray("messages"u8);
        foreach (var (role, parts) in ConversationTurns.Merge(request.Messages, IsSendable, systemTurns: false))
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, role == LlmRole.Assistant ? "assistant"u8 : "user"u8);
            writer.WriteStartArray("content"u8);
            foreach (var part in parts)
            {
                WriteBlock(writer, part);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (request.System.Exists(p => p.Text.Length > 0))
        {
            writer.WriteStartArray("system"u8);
            foreach (var part in request.System.Where(p => p.Text.Length > 0))
            {
                writer.WriteStartObject();
                writer.WriteString("text"u8, part.Text);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteStartObject("inferenceConfig"u8);
        writer.WriteNumber("maxTokens"u8, request.MaxOutputTokens ?? defaultMaxTokens);
        if (request.Temperature is { } temperature)
        {
            writer.WriteNumber("temperature"u8, Math.Min(temperature, 1));
        }

        if (request.TopP is { } topP)
        {
            writer.WriteNumber("topP"u8, topP);
        }

        if (request.StopSequences.Count > 0)
        {
            writer.WriteStartArray("stopSequences"u8);
            request.StopSequences.ForEach(writer.WriteStringValue);
            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        WriteTools(writer, request);
        writer.WriteEndObject();
    }

    private static bool IsSendable(LlmContentPart part) => part switch
    {
        LlmTextPart text => text.Text.Length > 0,
        LlmReasoningPart reasoning => reasoning.Signature is { Length: > 0 },
        LlmNativePart => false,
        _ => true,
    };

    private static void WriteBlock(Utf8JsonWriter writer, LlmContentPart part)
    {
        writer.WriteStartObject();
        switch (part)
        {
            case LlmTextPart text:
                writer.WriteString("text"u8, text.Text);
                break;
            case LlmImagePart { Url: null } image:
                writer.WriteStartObject("image"u8);
                writer.WriteString("format"u8, (image.MediaType ?? "image/png")["image/".Length..]);
                writer.WriteStartObject("source"u8);
                DataUrl.WriteBase64(writer, "bytes"u8, image);
                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
            case LlmImagePart:
                throw Json.Invalid("Bedrock accepts inline images only: send the image as a base64 data: URL.");
            case LlmToolCallPart call:
                writer.WriteStartObject("toolUse"u8);
                writer.WriteString("toolUseId"u8, ToolSchemas.SanitizeId(call.Id));
                writer.WriteString("name"u8, call.Name);
                writer.WritePropertyName("input"u8);
                Json.WriteRawJson(writer, Json.NormalizeObjectJson(call.ArgumentsJson));
                writer.WriteEndObject();
                break;
            case LlmToolResultPart result:
                writer.WriteStartObject("toolResult"u8);
                writer.WriteString("toolUseId"u8, ToolSchemas.SanitizeId(result.ToolCallId));
                writer.WriteStartArray("content"u8);
                writer.WriteStartObject();
                writer.WriteString("text"u8, OpenAI.OpenAIRequestWriter.JoinText(result.Content));
                writer.WriteEndObject();
                writer.WriteEndArray();
                writer.WriteString("status"u8, result.IsError ? "error"u8 : "success"u8);
                writer.WriteEndObject();
                break;
            case LlmReasoningPart reasoning:
                writer.WriteStartObject("reasoningContent"u8);
                writer.WriteStartObject("reasoningText"u8);
                writer.WriteString("text"u8, reasoning.Text);
                writer.WriteString("signature"u8, reasoning.Signature);
                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
        }

        writer.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter writer, LlmRequest request)
    {
        if (request.Tools.Count == 0 || request.ToolChoice is { Mode: LlmToolChoiceMode.None })
        {
            return;
        }

        writer.WriteStartObject("toolConfig"u8);
        writer.WriteStartArray("tools"u8);
        foreach (var tool in request.Tools)
        {
            writer.WriteStartObject();
            writer.WriteStartObject("toolSpec"u8);
            writer.WriteString("name"u8, tool.Name);
            if (tool.Description is { Length: > 0 } description)
            {
                writer.WriteString("description"u8, description);
            }

            writer.WriteStartObject("inputSchema"u8);
            writer.WritePropertyName("json"u8);
            Json.WriteRawJson(writer, tool.ParametersJson);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (request.ToolChoice is { Mode: LlmToolChoiceMode.Required or LlmToolChoiceMode.Function } choice)
        {
            writer.WriteStartObject("toolChoice"u8);
            if (choice.Mode == LlmToolChoiceMode.Function)
            {
                writer.WriteStartObject("tool"u8);
                writer.WriteString("name"u8, choice.FunctionName);
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteStartObject("any"u8);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}
