using System.Buffers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmMiddleware.Protocols.Anthropic;

/// <summary>Writes an <see cref="LlmRequest"/> as an Anthropic Messages request (protocols reference §1).</summary>
internal static partial class AnthropicRequestWriter
{
    public static void Write(LlmRequest request, string model, int defaultMaxTokens, TranslationState state, IBufferWriter<byte> output)
    {
        ToolSchemas.EnsureTranslatable(request, LlmProtocol.AnthropicMessages);
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        var jsonMode = request.ResponseFormat is { Kind: not LlmResponseFormatKind.Text };
        var budget = jsonMode ? null : ThinkingBudget(request.Reasoning);
        var maxTokens = request.MaxOutputTokens ?? defaultMaxTokens;
        if (budget is { } b && maxTokens <= b)
        {
            maxTokens = b + defaultMaxTokens;
        }

        writer.WriteStartObject();
        writer.WriteString("model"u8, model);
        writer.WriteNumber("max_tokens"u8, maxTokens);
        WriteSystem(writer, request);
        WriteMessages(writer, request, thinking: budget is not null);
        WriteTools(writer, request, jsonMode, budget is not null, state);

        if (budget is { } thinkingBudget)
        {
            writer.WriteStartObject("thinking"u8);
            writer.WriteString("type"u8, "enabled"u8);
            writer.WriteNumber("budget_tokens"u8, thinkingBudget);
            writer.WriteEndObject();
        }
        else
        {
            // Thinking is incompatible with temperature / top_k changes, so they are only sent without it.
            if (request.Temperature is { } temperature)
            {
                writer.WriteNumber("temperature"u8, Math.Min(temperature, 1.0));
            }

            if (request.TopK is { } topK)
            {
                writer.WriteNumber("top_k"u8, topK);
            }

            // Current Claude models reject temperature and top_p together: temperature wins.
            if (request.TopP is { } topP && request.Temperature is null)
            {
                writer.WriteNumber("top_p"u8, topP);
            }
        }

        var stops = request.StopSequences.Where(s => !string.IsNullOrWhiteSpace(s)).ToList();
        if (stops.Count > 0)
        {
            writer.WriteStartArray("stop_sequences"u8);
            foreach (var stop in stops)
            {
                writer.WriteStringValue(stop);
            }

            writer.WriteEndArray();
        }

        if (request.User is { } user && !LooksLikeContactDetail(user))
        {
            writer.WriteStartObject("metadata"u8);
            writer.WriteString("user_id"u8, user);
            writer.WriteEndObject();
        }

        if (request.Stream)
        {
            writer.WriteBoolean("stream"u8, true);
        }

        writer.WriteEndObject();
    }

    /// <summary>Effort levels map to budgets as LiteLLM does (low/medium/high = 1024/2048/4096).</summary>
    internal static int? ThinkingBudget(LlmReasoning? reasoning)
    {
        if (reasoning is null || reasoning.Disabled)
        {
            return null;
        }

        if (reasoning.BudgetTokens is { } budget)
        {
            return Math.Max(budget, 1024);
        }

        return reasoning.Effort switch
        {
            "minimal" or "low" => 1024,
            "high" => 4096,
            "xhigh" or "max" => 8192,
            _ => 2048,
        };
    }

    private static bool LooksLikeContactDetail(string user) => user.Contains('@') || PhoneNumber().IsMatch(user);

    [GeneratedRegex(@"^\+?[\d\s\-().]{7,}$")]
    private static partial Regex PhoneNumber();

    private static void WriteSystem(Utf8JsonWriter writer, LlmRequest request)
    {
        if (!request.System.Exists(p => p.Text.Length > 0))
        {
            return;
        }

        writer.WriteStartArray("system"u8);
        foreach (var part in request.System)
        {
            if (part.Text.Length > 0)
            {
                writer.WriteStartObject();
                writer.WriteString("type"u8, "text"u8);
                writer.WriteString("text"u8, part.Text);
                WriteCacheControl(writer, part.CacheControl);
                writer.WriteEndObject();
            }
        }

        writer.WriteEndArray();
    }

    private static void WriteMessages(Utf8JsonWriter writer, LlmRequest request, bool thinking)
    {
        var turns = ConversationTurns.Merge(request.Messages, IsSendable, systemTurns: true);
        if (!thinking && turns.Count > 0 && turns[^1].Role == LlmRole.Assistant)
        {
            // "When thinking is disabled, an assistant message in the final position cannot contain thinking."
            turns[^1].Parts.RemoveAll(p => p is LlmReasoningPart);
            if (turns[^1].Parts.Count == 0)
            {
                turns.RemoveAt(turns.Count - 1);
            }
        }

        writer.WriteStartArray("messages"u8);
        foreach (var (role, blocks) in turns)
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, role switch { LlmRole.Assistant => "assistant"u8, LlmRole.System => "system"u8, _ => "user"u8 });
            writer.WriteStartArray("content"u8);
            foreach (var block in blocks)
            {
                WriteBlock(writer, block);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>Anthropic rejects empty text blocks, and thinking blocks can only be replayed with their signature.</summary>
    private static bool IsSendable(LlmContentPart part) => part switch
    {
        LlmTextPart text => text.Text.Length > 0,
        LlmReasoningPart reasoning => reasoning.Signature is { Length: > 0 } || reasoning.RedactedData is not null,
        _ => true,
    };

    private static void WriteBlock(Utf8JsonWriter writer, LlmContentPart part)
    {
        if (part is LlmNativePart native)
        {
            Json.WriteRawJson(writer, native.Json);
            return;
        }

        writer.WriteStartObject();
        switch (part)
        {
            case LlmTextPart text:
                writer.WriteString("type"u8, "text"u8);
                writer.WriteString("text"u8, text.Text);
                break;
            case LlmImagePart image:
                writer.WriteString("type"u8, "image"u8);
                writer.WriteStartObject("source"u8);
                if (image.Url is { } url)
                {
                    writer.WriteString("type"u8, "url"u8);
                    writer.WriteString("url"u8, url);
                }
                else
                {
                    var mediaType = image.MediaType ?? "image/png";
                    if (mediaType is not ("image/jpeg" or "image/png" or "image/gif" or "image/webp"))
                    {
                        throw Json.Invalid($"Anthropic accepts image/jpeg, image/png, image/gif and image/webp images, not {mediaType}.");
                    }

                    writer.WriteString("type"u8, "base64"u8);
                    writer.WriteString("media_type"u8, mediaType);
                    DataUrl.WriteBase64(writer, "data"u8, image);
                }

                writer.WriteEndObject();
                break;
            case LlmToolCallPart call:
                writer.WriteString("type"u8, "tool_use"u8);
                writer.WriteString("id"u8, ToolSchemas.SanitizeId(call.Id));
                writer.WriteString("name"u8, call.Name);
                writer.WritePropertyName("input"u8);
                Json.WriteRawJson(writer, Json.NormalizeObjectJson(call.ArgumentsJson));
                break;
            case LlmToolResultPart result:
                writer.WriteString("type"u8, "tool_result"u8);
                writer.WriteString("tool_use_id"u8, ToolSchemas.SanitizeId(result.ToolCallId));
                var content = result.Content.Where(IsSendable).ToList();
                if (content.Count > 0)
                {
                    writer.WriteStartArray("content"u8);
                    foreach (var item in content)
                    {
                        WriteBlock(writer, item);
                    }

                    writer.WriteEndArray();
                }

                if (result.IsError)
                {
                    writer.WriteBoolean("is_error"u8, true);
                }

                break;
            case LlmReasoningPart { RedactedData: { } data }:
                writer.WriteString("type"u8, "redacted_thinking"u8);
                writer.WriteString("data"u8, data);
                break;
            case LlmReasoningPart reasoning:
                writer.WriteString("type"u8, "thinking"u8);
                writer.WriteString("thinking"u8, reasoning.Text);
                writer.WriteString("signature"u8, reasoning.Signature);
                break;
        }

        if (part is not LlmReasoningPart)
        {
            WriteCacheControl(writer, part.CacheControl);
        }

        writer.WriteEndObject();
    }

    private static void WriteCacheControl(Utf8JsonWriter writer, string? cacheControl)
    {
        if (cacheControl is not null)
        {
            writer.WritePropertyName("cache_control"u8);
            Json.WriteRawJson(writer, cacheControl);
        }
    }

    private static void WriteTools(Utf8JsonWriter writer, LlmRequest request, bool jsonMode, bool thinking, TranslationState state)
    {
        var serverTools = request.Tools.Where(t => t.NativeProtocol == LlmProtocol.AnthropicMessages).ToList();
        var tools = request.Tools.Where(t => t.NativeProtocol is null).Select(t => (t.Name, t.Description, t.ParametersJson, t.Strict, t.CacheControl)).ToList();
        if (tools.Count == 0 && request.HasToolHistory())
        {
            // Anthropic rejects tool_use / tool_result history without tool definitions: declare the tools it names.
            foreach (var name in request.Messages.SelectMany(m => m.Content).OfType<LlmToolCallPart>().Select(c => c.Name).Distinct())
            {
                tools.Add((name, null, ToolSchemas.EmptyObjectSchema, null, null));
            }
        }

        if (jsonMode)
        {
            state.JsonToolMode = true;
            var schema = request.ResponseFormat!.Kind == LlmResponseFormatKind.JsonSchema ? request.ResponseFormat.SchemaJson ?? ToolSchemas.EmptyObjectSchema : """{"type":"object"}""";
            tools.Add((TranslationState.JsonToolName, "Respond with the final answer as this tool's input.", schema, null, null));
        }

        if (tools.Count == 0 && serverTools.Count == 0)
        {
            return;
        }

        writer.WriteStartArray("tools"u8);
        foreach (var serverTool in serverTools)
        {
            Json.WriteRawJson(writer, serverTool.NativeJson!);
        }

        foreach (var (name, description, parameters, strict, cacheControl) in tools)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, name);
            if (description is not null)
            {
                writer.WriteString("description"u8, description);
            }

            writer.WritePropertyName("input_schema"u8);
            Json.WriteRawJson(writer, ToolSchemas.EnsureObjectType(parameters));
            if (strict == true)
            {
                writer.WriteBoolean("strict"u8, true);
            }

            WriteCacheControl(writer, cacheControl);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();

        var choice = request.ToolChoice;
        if (jsonMode)
        {
            choice = new LlmToolChoice(LlmToolChoiceMode.Function, TranslationState.JsonToolName);
        }
        else if (thinking && choice is { Mode: LlmToolChoiceMode.Function or LlmToolChoiceMode.Required })
        {
            // "Thinking may not be enabled when tool_choice forces tool use."
            choice = new LlmToolChoice(LlmToolChoiceMode.Auto);
        }

        var disableParallel = request.ParallelToolCalls == false;
        if (choice is null && !disableParallel)
        {
            return;
        }

        writer.WriteStartObject("tool_choice"u8);
        writer.WriteString("type"u8, (choice?.Mode ?? LlmToolChoiceMode.Auto) switch
        {
            LlmToolChoiceMode.None => "none"u8,
            LlmToolChoiceMode.Required => "any"u8,
            LlmToolChoiceMode.Function => "tool"u8,
            _ => "auto"u8,
        });
        if (choice is { Mode: LlmToolChoiceMode.Function, FunctionName: { } functionName })
        {
            writer.WriteString("name"u8, functionName);
        }

        if (disableParallel && choice?.Mode != LlmToolChoiceMode.None)
        {
            writer.WriteBoolean("disable_parallel_tool_use"u8, true);
        }

        writer.WriteEndObject();
    }
}
