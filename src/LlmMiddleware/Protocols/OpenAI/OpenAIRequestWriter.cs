using System.Buffers;
using System.Text;
using System.Text.Json;
using LlmMiddleware.Protocols.Gemini;

namespace LlmMiddleware.Protocols.OpenAI;

/// <summary>Writes an <see cref="LlmRequest"/> as an OpenAI Chat Completions request for a given dialect.</summary>
internal static class OpenAIRequestWriter
{
    /// <summary>OpenAI rejects tool-call ids longer than this.</summary>
    private const int MaxToolCallIdLength = 40;

    public static void Write(LlmRequest request, string model, OpenAIDialect dialect, TranslationState state, IBufferWriter<byte> output)
    {
        ToolSchemas.EnsureTranslatable(request, LlmProtocol.OpenAIChat);
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("model"u8, model);
        WriteMessages(writer, request, dialect, state);

        if (request.Tools.Count > 0)
        {
            writer.WriteStartArray("tools"u8);
            foreach (var tool in request.Tools)
            {

                var name = ToolName(tool.Name);
                state.MapToolName(name, tool.Name);
                writer.WriteStartObject();
                writer.WriteString("type"u8, "function"u8);
                writer.WriteStartObject("function"u8);
                writer.WriteString("name"u8, name);
                if (tool.Description is not null)
                {
                    writer.WriteString("description"u8, tool.Description);
                }

                writer.WritePropertyName("parameters"u8);
                Json.WriteRawJson(writer, tool.ParametersJson);
                if (tool.Strict is { } strict)
                {
                    writer.WriteBoolean("strict"u8, strict);
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            WriteToolChoice(writer, request, dialect);
            if (request.ParallelToolCalls is { } parallel && !dialect.HasFlag(OpenAIDialect.NoParallelToolCalls))
            {
                writer.WriteBoolean("parallel_tool_calls"u8, parallel);
            }
        }

        if (request.MaxOutputTokens is { } max)
        {
            writer.WriteNumber(dialect.HasFlag(OpenAIDialect.LegacyMaxTokens) ? "max_tokens"u8 : "max_completion_tokens"u8, max);
        }

        var dropSampling = dialect.HasFlag(OpenAIDialect.ReasoningModelsRejectSampling) && IsReasoningModel(model);
        if (request.Temperature is { } temperature)
        {
            writer.WriteNumber("temperature"u8, temperature);
        }

        if (request.TopP is { } topP)
        {
            writer.WriteNumber("top_p"u8, topP);
        }

        if (request.StopSequences.Count > 0 && !dropSampling)
        {
            writer.WriteStartArray("stop"u8);
            foreach (var stop in request.StopSequences.Take(4))
            {
                writer.WriteStringValue(stop);
            }

            writer.WriteEndArray();
        }

        if (!dialect.HasFlag(OpenAIDialect.NoPenalties) && !dropSampling)
        {
            if (request.PresencePenalty is { } presence)
            {
                writer.WriteNumber("presence_penalty"u8, presence);
            }

            if (request.FrequencyPenalty is { } frequency)
            {
                writer.WriteNumber("frequency_penalty"u8, frequency);
            }
        }

        if (request.Seed is { } seed)
        {
            writer.WriteNumber(dialect.HasFlag(OpenAIDialect.RandomSeed) ? "random_seed"u8 : "seed"u8, seed);
        }

        if (request.N is { } n && !(dialect.HasFlag(OpenAIDialect.SingleChoice) && n == 1))
        {
            writer.WriteNumber("n"u8, n);
        }

        if (request.User is { } user && !dialect.HasFlag(OpenAIDialect.NoUser))
        {
            writer.WriteString("user"u8, user);
        }

        // An effort the caller chose is sent as is; a thinking budget or "off" (from Anthropic callers) only to models
        // known to reason, since OpenAI rejects reasoning_effort on other models; reasoning on with neither (Anthropic's
        // adaptive thinking) is the provider's default, so nothing is sent.
        if (request.Reasoning is { } reasoning && !dialect.HasFlag(OpenAIDialect.NoReasoningEffort) &&
            (reasoning.Effort is not null || (IsOpenAIReasoningModel(model) && (reasoning.Disabled || reasoning.BudgetTokens is not null))))
        {
            writer.WriteString("reasoning_effort"u8, reasoning.Disabled ? "none" : reasoning.Effort ?? EffortFromBudget(reasoning.BudgetTokens));
        }

        WriteResponseFormat(writer, request.ResponseFormat);

        if (request.Stream)
        {
            writer.WriteBoolean("stream"u8, true);
            if (!dialect.HasFlag(OpenAIDialect.NoStreamOptions))
            {
                // Always ask for usage: metering and Anthropic clients need it; the OpenAI client writer hides the
                // usage chunk from callers who did not ask for it.
                writer.WriteStartObject("stream_options"u8);
                writer.WriteBoolean("include_usage"u8, true);
                writer.WriteEndObject();
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>xAI's reasoning models (grok-3-mini, grok-4 and later) reject penalties and stop sequences.</summary>
    private static bool IsReasoningModel(string model) =>
        model.StartsWith("grok-3-mini", StringComparison.OrdinalIgnoreCase) || model.StartsWith("grok-4", StringComparison.OrdinalIgnoreCase) ||
        model.Contains("reasoning", StringComparison.OrdinalIgnoreCase);

    private static bool IsOpenAIReasoningModel(string model) =>
        model.StartsWith("o1", StringComparison.OrdinalIgnoreCase) || model.StartsWith("o3", StringComparison.OrdinalIgnoreCase) ||
        model.StartsWith("o4", StringComparison.OrdinalIgnoreCase) || model.StartsWith("gpt-5", StringComparison.OrdinalIgnoreCase) ||
        model.StartsWith("gpt-oss", StringComparison.OrdinalIgnoreCase);

    internal static string EffortFromBudget(int? budget) => budget switch
    {
        null => "medium",
        <= 1024 => "low",
        <= 8192 => "medium",
        _ => "high",
    };

    private static void WriteMessages(Utf8JsonWriter writer, LlmRequest request, OpenAIDialect dialect, TranslationState state)
    {
        writer.WriteStartArray("messages"u8);
        if (request.System.Count > 0)
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, "system"u8);
            writer.WriteString("content"u8, JoinText(request.System));
            writer.WriteEndObject();
        }

        List<LlmImagePart>? pendingImages = null;
        foreach (var message in request.Messages)
        {
            if (message.Role != LlmRole.Tool && pendingImages is not null)
            {
                WriteUserImages(writer, pendingImages);
                pendingImages = null;
            }

            switch (message.Role)
            {
                case LlmRole.User:
                    writer.WriteStartObject();
                    writer.WriteString("role"u8, "user"u8);
                    WriteName(writer, message, dialect);
                    WriteUserContent(writer, message.Content);
                    writer.WriteEndObject();
                    break;
                case LlmRole.Assistant:
                    WriteAssistant(writer, message, dialect);
                    break;
                case LlmRole.System:
                    writer.WriteStartObject();
                    writer.WriteString("role"u8, "system"u8);
                    writer.WriteString("content"u8, JoinText(message.Content));
                    writer.WriteEndObject();
                    break;
                case LlmRole.Tool:
                    foreach (var part in message.Content)
                    {
                        if (part is not LlmToolResultPart result)
                        {
                            continue;
                        }

                        writer.WriteStartObject();
                        writer.WriteString("role"u8, "tool"u8);
                        writer.WriteString("tool_call_id"u8, ToolCallId(result.ToolCallId, dialect));
                        var text = JoinText(result.Content);
                        writer.WriteString("content"u8, result.IsError ? "Error: " + text : text);
                        writer.WriteEndObject();
                        foreach (var image in result.Content.OfType<LlmImagePart>())
                        {
                            // OpenAI tool messages hold text only: images follow in a user message.
                            (pendingImages ??= []).Add(image);
                        }
                    }

                    break;
            }
        }

        if (pendingImages is not null)
        {
            WriteUserImages(writer, pendingImages);
        }

        writer.WriteEndArray();
    }

    private static void WriteAssistant(Utf8JsonWriter writer, LlmMessage message, OpenAIDialect dialect)
    {
        writer.WriteStartObject();
        writer.WriteString("role"u8, "assistant"u8);
        WriteName(writer, message, dialect);
        var text = JoinText(message.Content);
        var hasToolCalls = message.Content.Exists(p => p is LlmToolCallPart);
        if (text.Length > 0 || !hasToolCalls)
        {
            writer.WriteString("content"u8, text);
        }
        else
        {
            writer.WriteNull("content"u8);
        }

        if (dialect.HasFlag(OpenAIDialect.EchoReasoning) && string.Concat(message.Content.OfType<LlmReasoningPart>().Select(r => r.Text)) is { Length: > 0 } reasoning)
        {
            writer.WriteString("reasoning_content"u8, reasoning);
        }

        if (hasToolCalls)
        {
            writer.WriteStartArray("tool_calls"u8);
            foreach (var part in message.Content)
            {
                if (part is LlmToolCallPart call)
                {
                    writer.WriteStartObject();
                    writer.WriteString("id"u8, ToolCallId(call.Id, dialect));
                    writer.WriteString("type"u8, "function"u8);
                    writer.WriteStartObject("function"u8);
                    writer.WriteString("name"u8, ToolName(call.Name));
                    writer.WriteString("arguments"u8, call.ArgumentsJson);
                    writer.WriteEndObject();
                    if (dialect.HasFlag(OpenAIDialect.GeminiThoughtSignatures) && GeminiThoughtSignatures.Extract(call.Id) is { } signature)
                    {
                        writer.WriteStartObject("extra_content"u8);
                        writer.WriteStartObject("google"u8);
                        writer.WriteString("thought_signature"u8, signature);
                        writer.WriteEndObject();
                        writer.WriteEndObject();
                    }

                    writer.WriteEndObject();
                }
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void WriteName(Utf8JsonWriter writer, LlmMessage message, OpenAIDialect dialect)
    {
        if (message.Name is { } name && !dialect.HasFlag(OpenAIDialect.NoMessageName))
        {
            writer.WriteString("name"u8, name);
        }
    }

    private static void WriteUserContent(Utf8JsonWriter writer, List<LlmContentPart> content)
    {
        if (content.TrueForAll(p => p is LlmTextPart))
        {
            writer.WriteString("content"u8, JoinText(content));
            return;
        }

        writer.WriteStartArray("content"u8);
        foreach (var part in content)
        {
            switch (part)
            {
                case LlmTextPart text:
                    writer.WriteStartObject();
                    writer.WriteString("type"u8, "text"u8);
                    writer.WriteString("text"u8, text.Text);
                    writer.WriteEndObject();
                    break;
                case LlmImagePart image:
                    WriteImage(writer, image);
                    break;
                case LlmNativePart native:
                    Json.WriteRawJson(writer, native.Json);
                    break;
            }
        }

        writer.WriteEndArray();
    }

    private static void WriteUserImages(Utf8JsonWriter writer, List<LlmImagePart> images)
    {
        writer.WriteStartObject();
        writer.WriteString("role"u8, "user"u8);
        writer.WriteStartArray("content"u8);
        foreach (var image in images)
        {
            WriteImage(writer, image);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteImage(Utf8JsonWriter writer, LlmImagePart image)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "image_url"u8);
        writer.WriteStartObject("image_url"u8);
        if (image.Url is { } url)
        {
            writer.WriteString("url"u8, url);
        }
        else
        {
            DataUrl.Write(writer, "url"u8, image);
        }

        if (image.Detail is { } detail)
        {
            writer.WriteString("detail"u8, detail);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteToolChoice(Utf8JsonWriter writer, LlmRequest request, OpenAIDialect dialect)
    {
        if (request.ToolChoice is not { } choice)
        {
            return;
        }

        if (dialect.HasFlag(OpenAIDialect.ToolChoiceAutoOrNone))
        {
            writer.WriteString("tool_choice"u8, choice.Mode == LlmToolChoiceMode.None ? "none"u8 : "auto"u8);
            return;
        }

        switch (choice.Mode)
        {
            case LlmToolChoiceMode.Auto:
                writer.WriteString("tool_choice"u8, "auto"u8);
                break;
            case LlmToolChoiceMode.None:
                writer.WriteString("tool_choice"u8, "none"u8);
                break;
            case LlmToolChoiceMode.Required:
                writer.WriteString("tool_choice"u8, "required"u8);
                break;
            case LlmToolChoiceMode.Function:
                writer.WriteStartObject("tool_choice"u8);
                writer.WriteString("type"u8, "function"u8);
                writer.WriteStartObject("function"u8);
                writer.WriteString("name"u8, ToolName(choice.FunctionName ?? ""));
                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
        }
    }

    private static void WriteResponseFormat(Utf8JsonWriter writer, LlmResponseFormat? format)
    {
        switch (format?.Kind)
        {
            case LlmResponseFormatKind.JsonObject:
                writer.WriteStartObject("response_format"u8);
                writer.WriteString("type"u8, "json_object"u8);
                writer.WriteEndObject();
                break;
            case LlmResponseFormatKind.JsonSchema:
                writer.WriteStartObject("response_format"u8);
                writer.WriteString("type"u8, "json_schema"u8);
                writer.WriteStartObject("json_schema"u8);
                writer.WriteString("name"u8, format.Name ?? "response");
                writer.WritePropertyName("schema"u8);
                Json.WriteRawJson(writer, format.SchemaJson ?? ToolSchemas.EmptyObjectSchema);
                if (format.Strict is { } strict)
                {
                    writer.WriteBoolean("strict"u8, strict);
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
        }
    }

    private static string ToolCallId(string id, OpenAIDialect dialect) =>
        dialect.HasFlag(OpenAIDialect.NineCharacterToolIds) ? ToolSchemas.NineCharacterId(id)
        : dialect.HasFlag(OpenAIDialect.GeminiThoughtSignatures) ? ToolSchemas.SanitizeId(id)
        : ToolSchemas.SanitizeId(id, MaxToolCallIdLength);

    /// <summary>OpenAI tool names are <c>^[a-zA-Z0-9_-]{1,64}$</c>; longer Anthropic names are shortened deterministically.</summary>
    internal static string ToolName(string name) => ToolSchemas.SanitizeId(name, 64);

    internal static string JoinText(List<LlmContentPart> parts)
    {
        string? single = null;
        StringBuilder? builder = null;
        foreach (var part in parts)
        {
            if (part is not LlmTextPart text)
            {
                continue;
            }

            if (single is null)
            {
                single = text.Text;
            }
            else
            {
                builder ??= new StringBuilder(single);
                builder.Append('\n').Append(text.Text);
            }
        }

        return builder?.ToString() ?? single ?? "";
    }

    internal static string JoinText(List<LlmTextPart> parts) => parts.Count == 1 ? parts[0].Text : string.Join("\n", parts.Select(p => p.Text));
}
