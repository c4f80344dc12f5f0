using System.Collections.Frozen;
using System.Text.Json;

namespace LlmMiddleware.Protocols.Anthropic;

/// <summary>Parses an Anthropic Messages request body into an <see cref="LlmRequest"/>.</summary>
internal static class AnthropicRequestReader
{
    /// <summary>The top-level fields this reader turns into the parsed request; any other is kept raw
    /// (<see cref="LlmRequest.UnmodeledFields"/>).</summary>
    private static readonly FrozenSet<string> ModeledFields = FrozenSet.Create(StringComparer.Ordinal,
        "model", "messages", "system", "stream", "max_tokens", "metadata", "output_config", "temperature", "thinking", "tool_choice", "top_k",
        "top_p", "stop_sequences", "tools");

    /// <summary>Reads a Messages request; with <paramref name="countOnly"/> (a <c>count_tokens</c> body) without <c>max_tokens</c>.</summary>
    public static LlmRequest Read(ReadOnlyMemory<byte> body, bool countOnly = false)
    {
        using var doc = Json.Parse(body, "request body");
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Json.Invalid("The request body must be a JSON object.");
        }

        var request = new LlmRequest
        {
            Model = Json.OptionalString(root, "model"u8) is { Length: > 0 } model ? model : throw Json.Invalid("model: Field required", "model"),
            MaxOutputTokens = Json.OptionalInt(root, "max_tokens"u8) ?? (countOnly ? 1 : throw Json.Invalid("max_tokens: Field required", "max_tokens")),
            Stream = Json.OptionalBool(root, "stream"u8) ?? false,
            Temperature = Json.OptionalNumber(root, "temperature"u8),
            TopP = Json.OptionalNumber(root, "top_p"u8),
            TopK = Json.OptionalInt(root, "top_k"u8),
            User = Json.String(Json.Property(root, "metadata"u8), "user_id"u8),
        };

        // Anthropic callers always receive usage in message_delta.
        request.StreamIncludeUsage = true;
        if (request.MaxOutputTokens <= 0)
        {
            throw Json.Invalid("max_tokens: must be greater than or equal to 1", "max_tokens");
        }

        if (request.Temperature is < 0 or > 1)
        {
            throw Json.Invalid("temperature: must be between 0 and 1", "temperature");
        }

        if (root.TryGetProperty("stop_sequences"u8, out var stops) && stops.ValueKind != JsonValueKind.Null)
        {
            if (stops.ValueKind != JsonValueKind.Array)
            {
                throw Json.Invalid("stop_sequences: Input should be a valid list", "stop_sequences");
            }

            foreach (var stop in stops.EnumerateArray())
            {
                request.StopSequences.Add(stop.ValueKind == JsonValueKind.String ? stop.GetString()! : throw Json.Invalid("stop_sequences: Input should be a valid string", "stop_sequences"));
            }
        }

        ReadSystem(root, request);
        ReadMessages(root, request);
        ReadTools(root, request);
        ReadThinkingAndFormat(root, request);
        request.UnmodeledFields = Json.Unmodeled(root, ModeledFields);
        return request;
    }

    private static void ReadSystem(JsonElement root, LlmRequest request)
    {
        if (!root.TryGetProperty("system"u8, out var system) || system.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (system.ValueKind == JsonValueKind.String)
        {
            request.System.Add(new LlmTextPart(system.GetString()!));
            return;
        }

        if (system.ValueKind != JsonValueKind.Array)
        {
            throw Json.Invalid("system: Input should be a valid string or list of text blocks", "system");
        }

        foreach (var block in system.EnumerateArray())
        {
            request.System.Add(new LlmTextPart(Json.String(block, "text"u8) ?? throw Json.Invalid("system: text blocks require 'text'", "system"))
            {
                CacheControl = Json.RawObject(block, "cache_control"u8),
            });
        }
    }

    private static void ReadMessages(JsonElement root, LlmRequest request)
    {
        if (!root.TryGetProperty("messages"u8, out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw Json.Invalid("messages: Field required", "messages");
        }

        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var param = $"messages.{i++}";
            var role = message.ValueKind == JsonValueKind.Object ? Json.OptionalString(message, "role"u8) : null;
            if (role is not ("user" or "assistant" or "system"))
            {
                throw Json.Invalid($"{param}.role: Input should be 'user', 'assistant' or 'system'", param + ".role");
            }

            var content = Json.Property(message, "content"u8);
            if (role == "system")
            {
                // Mid-conversation instructions (beta mid-conversation-system-2026-04-07): text only, kept in place.
                var system = new LlmMessage(LlmRole.System);
                ReadBlocks(content, param, system.Content, null);
                if (system.Content.Exists(p => p is not LlmTextPart))
                {
                    throw Json.Invalid($"{param}.content: system messages hold text blocks only", param + ".content");
                }

                request.Messages.Add(system);
                continue;
            }

            if (role == "assistant")
            {
                var assistant = new LlmMessage(LlmRole.Assistant);
                ReadBlocks(content, param, assistant.Content, null);
                request.Messages.Add(assistant);
                continue;
            }

            // A user turn may carry tool results; the neutral form keeps them in a tool message ahead of the user's text.
            var results = new LlmMessage(LlmRole.Tool);
            var user = new LlmMessage(LlmRole.User);
            ReadBlocks(content, param, user.Content, results.Content);
            if (results.Content.Count > 0)
            {
                request.Messages.Add(results);
            }

            if (user.Content.Count > 0 || results.Content.Count == 0)
            {
                request.Messages.Add(user);
            }
        }

        if (request.Messages.Count == 0)
        {
            throw Json.Invalid("messages: at least one message is required", "messages");
        }
    }

    private static void ReadBlocks(JsonElement content, string param, List<LlmContentPart> parts, List<LlmContentPart>? toolResults)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            parts.Add(new LlmTextPart(content.GetString()!));
            return;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw Json.Invalid($"{param}.content: Input should be a valid string or list of content blocks", param + ".content");
        }

        var j = 0;
        foreach (var block in content.EnumerateArray())
        {
            var blockParam = $"{param}.content.{j++}";
            var target = Json.String(block, "type"u8) == "tool_result" && toolResults is not null ? toolResults : parts;
            var count = target.Count;
            switch (block.ValueKind == JsonValueKind.Object ? Json.String(block, "type"u8) : null)
            {
                case "text":
                    parts.Add(new LlmTextPart(Json.OptionalString(block, "text"u8) ?? throw Json.Invalid($"{blockParam}.text: Field required", blockParam + ".text")));
                    break;
                case "image":
                    parts.Add(ReadImage(block, blockParam));
                    break;
                case "tool_use":
                    parts.Add(new LlmToolCallPart(
                        Json.OptionalString(block, "id"u8) ?? throw Json.Invalid($"{blockParam}.id: Field required", blockParam + ".id"),
                        Json.OptionalString(block, "name"u8) ?? throw Json.Invalid($"{blockParam}.name: Field required", blockParam + ".name"),
                        Json.Property(block, "input"u8) is { ValueKind: JsonValueKind.Object } input ? input.GetRawText() : "{}"));
                    break;
                case "tool_result" when toolResults is not null:
                    var result = new LlmToolResultPart(Json.OptionalString(block, "tool_use_id"u8) ?? throw Json.Invalid($"{blockParam}.tool_use_id: Field required", blockParam + ".tool_use_id"))
                    {
                        IsError = Json.OptionalBool(block, "is_error"u8) ?? false,
                    };
                    if (block.TryGetProperty("content"u8, out var resultContent) && resultContent.ValueKind != JsonValueKind.Null)
                    {
                        ReadBlocks(resultContent, blockParam, result.Content, null);
                    }

                    toolResults.Add(result);
                    break;
                case "thinking":
                    parts.Add(new LlmReasoningPart(Json.String(block, "thinking"u8) ?? "") { Signature = Json.String(block, "signature"u8) });
                    break;
                case "redacted_thinking":
                    parts.Add(new LlmReasoningPart("") { RedactedData = Json.String(block, "data"u8) });
                    break;
                case { Length: > 0 } type:
                    parts.Add(new LlmNativePart(LlmProtocol.AnthropicMessages, type, block.GetRawText()));
                    break;
                default:
                    throw Json.Invalid($"{blockParam}.type: Field required", blockParam + ".type");
            }

            if (target.Count > count && Json.RawObject(block, "cache_control"u8) is { } cacheControl)
            {
                target[^1].CacheControl = cacheControl;
            }
        }
    }

    private static LlmImagePart ReadImage(JsonElement block, string param)
    {
        var source = Json.Property(block, "source"u8);
        return Json.String(source, "type"u8) switch
        {
            "base64" => new LlmImagePart { MediaType = Json.String(source, "media_type"u8), Data = Json.String(source, "data"u8) ?? "" },
            "url" => new LlmImagePart { Url = Json.String(source, "url"u8) ?? throw Json.Invalid($"{param}.source.url: Field required", param + ".source.url") },
            _ => throw Json.Invalid($"{param}.source.type: Input should be 'base64' or 'url'", param + ".source.type"),
        };
    }

    private static void ReadTools(JsonElement root, LlmRequest request)
    {
        if (root.TryGetProperty("tools"u8, out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                var param = $"tools.{i++}";
                if (Json.String(tool, "type"u8) is { } type && type != "custom")
                {
                    request.Tools.Add(new LlmTool(Json.String(tool, "name"u8) ?? type, null, ToolSchemas.EmptyObjectSchema)
                    {
                        NativeProtocol = LlmProtocol.AnthropicMessages,
                        NativeJson = tool.GetRawText(),
                    });
                    continue;
                }

                var name = Json.OptionalString(tool, "name"u8) ?? throw Json.Invalid($"{param}.name: Field required", param + ".name");
                var schema = Json.Property(tool, "input_schema"u8);
                request.Tools.Add(new LlmTool(name, Json.OptionalString(tool, "description"u8), schema.ValueKind == JsonValueKind.Object ? schema.GetRawText() : ToolSchemas.EmptyObjectSchema)
                {
                    Strict = Json.OptionalBool(tool, "strict"u8),
                    CacheControl = Json.RawObject(tool, "cache_control"u8),
                });
            }
        }

        var choice = Json.Property(root, "tool_choice"u8);
        if (choice.ValueKind == JsonValueKind.Object)
        {
            request.ToolChoice = Json.String(choice, "type"u8) switch
            {
                "auto" => new LlmToolChoice(LlmToolChoiceMode.Auto),
                "any" => new LlmToolChoice(LlmToolChoiceMode.Required),
                "none" => new LlmToolChoice(LlmToolChoiceMode.None),
                "tool" => new LlmToolChoice(LlmToolChoiceMode.Function, Json.String(choice, "name"u8) ?? throw Json.Invalid("tool_choice.name: Field required", "tool_choice.name")),
                _ => throw Json.Invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'", "tool_choice.type"),
            };
            if (Json.OptionalBool(choice, "disable_parallel_tool_use"u8) == true)
            {
                request.ParallelToolCalls = false;
            }
        }
    }

    private static void ReadThinkingAndFormat(JsonElement root, LlmRequest request)
    {
        var thinking = Json.Property(root, "thinking"u8);
        var outputConfig = Json.Property(root, "output_config"u8);
        switch (Json.String(thinking, "type"u8))
        {
            case "enabled":
                request.Reasoning = new LlmReasoning { BudgetTokens = Json.OptionalInt(thinking, "budget_tokens"u8) };
                break;
            case "adaptive": // with no effort: on, as deep as the provider decides by default
                request.Reasoning = new LlmReasoning { Effort = Json.String(outputConfig, "effort"u8) };
                break;
            case "disabled":
                request.Reasoning = new LlmReasoning { Disabled = true };
                break;
        }

        var format = Json.Property(outputConfig, "format"u8);
        if (Json.String(format, "type"u8) == "json_schema")
        {
            var schema = Json.Property(format, "schema"u8);
            request.ResponseFormat = new LlmResponseFormat(LlmResponseFormatKind.JsonSchema, "response", schema.ValueKind == JsonValueKind.Object ? schema.GetRawText() : ToolSchemas.EmptyObjectSchema);
        }
    }
}
