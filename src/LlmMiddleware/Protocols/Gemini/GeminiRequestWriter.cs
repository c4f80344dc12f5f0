using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols.OpenAI;

namespace LlmMiddleware.Protocols.Gemini;

/// <summary>Writes an <see cref="LlmRequest"/> as a Gemini <c>generateContent</c> request (protocols reference §1, §5).</summary>
internal static class GeminiRequestWriter
{
    public static void Write(LlmRequest request, IBufferWriter<byte> output)
    {
        // Gemini has a protocol of its own: no caller's native content can reach it.
        ToolSchemas.EnsureTranslatable(request, LlmProtocol.Gemini);
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        writer.WriteStartObject();
        WriteContents(writer, request);

        if (request.System.Exists(p => p.Text.Length > 0))
        {
            writer.WriteStartObject("systemInstruction"u8);
            writer.WriteStartArray("parts"u8);
            foreach (var part in request.System)
            {
                if (part.Text.Length > 0)
                {
                    writer.WriteStartObject();
                    writer.WriteString("text"u8, part.Text);
                    writer.WriteEndObject();
                }
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        if (request.Tools.Count > 0)
        {
            writer.WriteStartArray("tools"u8);
            writer.WriteStartObject();
            writer.WriteStartArray("functionDeclarations"u8);
            foreach (var tool in request.Tools)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, tool.Name);
                if (tool.Description is not null)
                {
                    writer.WriteString("description"u8, tool.Description);
                }

                using var schema = JsonDocument.Parse(tool.ParametersJson);
                if (schema.RootElement.ValueKind == JsonValueKind.Object && schema.RootElement.TryGetProperty("properties"u8, out var properties) &&
                    properties.ValueKind == JsonValueKind.Object && properties.EnumerateObject().Any())
                {
                    writer.WritePropertyName("parameters"u8);
                    ToolSchemas.WriteGeminiSchema(writer, schema.RootElement);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
            WriteToolConfig(writer, request.ToolChoice);
        }

        WriteGenerationConfig(writer, request);
        writer.WriteEndObject();
    }

    private static void WriteContents(Utf8JsonWriter writer, LlmRequest request)
    {
        // Gemini needs a function response to carry the function's name: recover it from the call it answers.
        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var call in request.Messages.SelectMany(m => m.Content).OfType<LlmToolCallPart>())
        {
            callNames[call.Id] = call.Name;
        }

        // Thought text is not sent back (only thought signatures matter) and Gemini rejects empty parts.
        writer.WriteStartArray("contents"u8);
        foreach (var (role, parts) in ConversationTurns.Merge(request.Messages, p => p is not LlmReasoningPart && p is not LlmTextPart { Text.Length: 0 }, systemTurns: false))
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, role == LlmRole.Assistant ? "model"u8 : "user"u8);
            writer.WriteStartArray("parts"u8);
            foreach (var part in parts)
            {
                WritePart(writer, part, callNames);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private static void WritePart(Utf8JsonWriter writer, LlmContentPart part, Dictionary<string, string> callNames)
    {
        writer.WriteStartObject();
        switch (part)
        {
            case LlmTextPart text:
                writer.WriteString("text"u8, text.Text);
                break;
            case LlmImagePart { Url: null } image:
                writer.WriteStartObject("inlineData"u8);
                writer.WriteString("mimeType"u8, image.MediaType ?? "image/png");
                DataUrl.WriteBase64(writer, "data"u8, image);
                writer.WriteEndObject();
                break;
            case LlmImagePart:
                throw Json.Invalid("Gemini accepts inline images only: send the image as a base64 data: URL.");

            case LlmToolCallPart call:
                writer.WriteStartObject("functionCall"u8);
                writer.WriteString("name"u8, call.Name);
                writer.WritePropertyName("args"u8);
                Json.WriteRawJson(writer, Json.NormalizeObjectJson(call.ArgumentsJson));
                writer.WriteEndObject();
                // A call Gemini did not make (history from another model, such as a Claude Code session moved over)
                // has no signature, which Gemini 3 refuses; its documented placeholder for such history is accepted.
                writer.WriteString("thoughtSignature"u8, GeminiThoughtSignatures.Extract(call.Id) ?? "skip_thought_signature_validator");

                break;
            case LlmToolResultPart result:
                writer.WriteStartObject("functionResponse"u8);
                writer.WriteString("name"u8, callNames.TryGetValue(result.ToolCallId, out var name) ? name : result.ToolCallId);
                writer.WriteStartObject("response"u8);
                writer.WriteString(result.IsError ? "error"u8 : "result"u8, OpenAIRequestWriter.JoinText(result.Content));
                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
        }

        writer.WriteEndObject();
    }

    private static void WriteToolConfig(Utf8JsonWriter writer, LlmToolChoice? choice)
    {
        if (choice is null)
        {
            return;
        }

        writer.WriteStartObject("toolConfig"u8);
        writer.WriteStartObject("functionCallingConfig"u8);
        writer.WriteString("mode"u8, choice.Mode switch
        {
            LlmToolChoiceMode.None => "NONE"u8,
            LlmToolChoiceMode.Required or LlmToolChoiceMode.Function => "ANY"u8,
            _ => "AUTO"u8,
        });
        if (choice is { Mode: LlmToolChoiceMode.Function, FunctionName: { } name })
        {
            writer.WriteStartArray("allowedFunctionNames"u8);
            writer.WriteStringValue(name);
            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteGenerationConfig(Utf8JsonWriter writer, LlmRequest request)
    {
        writer.WriteStartObject("generationConfig"u8);
        if (request.Temperature is { } temperature)
        {
            writer.WriteNumber("temperature"u8, temperature);
        }

        if (request.TopP is { } topP)
        {
            writer.WriteNumber("topP"u8, topP);
        }

        if (request.TopK is { } topK)
        {
            writer.WriteNumber("topK"u8, topK);
        }

        if (request.MaxOutputTokens is { } max)
        {
            writer.WriteNumber("maxOutputTokens"u8, max);
        }

        if (request.StopSequences.Count > 0)
        {
            writer.WriteStartArray("stopSequences"u8);
            foreach (var stop in request.StopSequences.Take(5))
            {
                writer.WriteStringValue(stop);
            }

            writer.WriteEndArray();
        }

        if (request.N is { } n)
        {
            writer.WriteNumber("candidateCount"u8, n);
        }

        if (request.Seed is { } seed)
        {
            writer.WriteNumber("seed"u8, seed);
        }

        if (request.PresencePenalty is { } presence)
        {
            writer.WriteNumber("presencePenalty"u8, presence);
        }

        if (request.FrequencyPenalty is { } frequency)
        {
            writer.WriteNumber("frequencyPenalty"u8, frequency);
        }

        if (request.ResponseFormat is { Kind: not LlmResponseFormatKind.Text } format)
        {
            writer.WriteString("responseMimeType"u8, "application/json"u8);
            if (format is { Kind: LlmResponseFormatKind.JsonSchema, SchemaJson: { } schemaJson })
            {
                using var schema = JsonDocument.Parse(schemaJson);
                writer.WritePropertyName("responseSchema"u8);
                ToolSchemas.WriteGeminiSchema(writer, schema.RootElement);
            }
        }

        if (request.Reasoning is { } reasoning)
        {
            writer.WriteStartObject("thinkingConfig"u8);
            if (reasoning.Disabled)
            {
                writer.WriteNumber("thinkingBudget"u8, 0);
            }
            else
            {
                writer.WriteNumber("thinkingBudget"u8, reasoning.BudgetTokens ?? reasoning.Effort switch
                {
                    null => -1, // dynamic: the model decides, Gemini's default
                    "minimal" or "low" => 1024,
                    "high" or "xhigh" or "max" => 24576,
                    _ => 8192,
                });
                writer.WriteBoolean("includeThoughts"u8, true);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}
