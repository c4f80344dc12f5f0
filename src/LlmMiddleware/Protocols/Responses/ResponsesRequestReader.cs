using System.Text.Json;
using LlmMiddleware.Protocols.OpenAI;

namespace LlmMiddleware.Protocols.Responses;

/// <summary>
/// Parses an OpenAI Responses request (<c>POST /v1/responses</c>) into an <see cref="LlmRequest"/>: <c>instructions</c>
/// and system/developer items as the system prompt, messages, function calls and their outputs, reasoning items (whose
/// <c>encrypted_content</c> carries a provider's thinking signature back), function tools, <c>text.format</c> and
/// <c>reasoning.effort</c>. What only OpenAI's own Responses API can serve (stored responses, hosted tools, files) is
/// left out of the parsed request and noted (<see cref="LlmRequest.PassthroughOnly"/>): the call then goes through only
/// to OpenAI or Azure OpenAI as sent, and any other route refuses it in OpenAI's shape.
/// </summary>
internal static class ResponsesRequestReader
{
    public static LlmRequest Read(ReadOnlyMemory<byte> body)
    {
        using var doc = Json.Parse(body, "request body");
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Json.Invalid("The request body must be a JSON object.");
        }

        var request = new LlmRequest
        {
            Model = Json.OptionalString(root, "model"u8) is { Length: > 0 } model ? model : throw Json.Invalid("'model' is required.", "model"),
            Stream = Json.OptionalBool(root, "stream"u8) ?? false,
            Temperature = Json.OptionalNumber(root, "temperature"u8),
            TopP = Json.OptionalNumber(root, "top_p"u8),
            MaxOutputTokens = Json.OptionalInt(root, "max_output_tokens"u8),
            ParallelToolCalls = Json.OptionalBool(root, "parallel_tool_calls"u8),
            User = Json.OptionalString(root, "safety_identifier"u8) ?? Json.OptionalString(root, "user"u8),
            StreamIncludeUsage = true, // response.completed always carries usage
        };

        NativeOnlyField(root, "previous_response_id"u8, "previous_response_id", "a stored response", request);
        NativeOnlyField(root, "conversation"u8, "conversation", "a stored conversation", request);
        if (Json.OptionalBool(root, "background"u8) == true)
        {
            NativeOnly(request, "background", "'background' responses");
        }

        if (request.Temperature is < 0 or > 2)
        {
            throw Json.Invalid("'temperature' must be between 0 and 2.", "temperature");
        }

        if (request.MaxOutputTokens is <= 0)
        {
            throw Json.Invalid("'max_output_tokens' must be positive.", "max_output_tokens");
        }

        if (Json.OptionalString(root, "instructions"u8) is { Length: > 0 } instructions)
        {
            request.System.Add(new LlmTextPart(instructions));
        }

        if (root.TryGetProperty("reasoning"u8, out var reasoning) && reasoning.ValueKind == JsonValueKind.Object && Json.OptionalString(reasoning, "effort"u8) is { } effort)
        {
            request.Reasoning = new LlmReasoning { Effort = effort, Disabled = effort == "none" };
        }

        ReadInput(root, request);
        ReadTools(root, request);
        ReadTextFormat(root, request);
        return request;
    }

    private static void NativeOnlyField(JsonElement root, ReadOnlySpan<byte> name, string param, string what, LlmRequest request)
    {
        if (root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
        {
            NativeOnly(request, param, $"'{param}' ({what})");
        }
    }

    /// <summary>Notes the first feature only OpenAI's Responses API serves; the rest of the request is still read.</summary>
    private static void NativeOnly(LlmRequest request, string param, string what) =>
        request.PassthroughOnly ??= (param, $"{what} needs OpenAI's own Responses API: route this call to an OpenAI or Azure OpenAI model (other providers get a translated request, and the gateway stores no responses).");

    private static void ReadInput(JsonElement root, LlmRequest request)
    {
        var input = Json.Property(root, "input"u8);
        if (input.ValueKind == JsonValueKind.String)
        {
            request.Messages.Add(new LlmMessage(LlmRole.User) { Content = { new LlmTextPart(input.GetString()!) } });
            return;
        }

        if (input.ValueKind != JsonValueKind.Array || (input.GetArrayLength() == 0 && request.PassthroughOnly is null))
        {
            throw Json.Invalid("'input' must be a string or a non-empty array of items.", "input");
        }

        var i = 0;
        foreach (var item in input.EnumerateArray())
        {
            var param = $"input[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw Json.Invalid($"'{param}' must be an object.", param);
            }

            switch (Json.OptionalString(item, "type"u8) ?? "message")
            {
                case "message":
                    ReadMessage(item, param, request);
                    break;
                case "function_call":
                    Turn(request, LlmRole.Assistant).Content.Add(new LlmToolCallPart(
                        Required(item, "call_id"u8, param + ".call_id"),
                        Required(item, "name"u8, param + ".name"),
                        Json.NormalizeObjectJson(Json.OptionalString(item, "arguments"u8))));
                    break;
                case "function_call_output":
                    var result = new LlmToolResultPart(Required(item, "call_id"u8, param + ".call_id"));
                    var output = Json.Property(item, "output"u8);
                    result.Content.AddRange(output.ValueKind == JsonValueKind.String ? [new LlmTextPart(output.GetString()!)] : ReadParts(output, param + ".output", request));
                    Turn(request, LlmRole.Tool).Content.Add(result);
                    break;
                case "reasoning":
                    // A provider's thinking signature travels as the item's encrypted_content (see ResponsesOutput).
                    var text = string.Concat(Json.Property(item, "summary"u8) is { ValueKind: JsonValueKind.Array } summary
                        ? summary.EnumerateArray().Select(s => Json.String(s, "text"u8)) : []);
                    Turn(request, LlmRole.Assistant).Content.Add(new LlmReasoningPart(text) { Signature = Json.OptionalString(item, "encrypted_content"u8) });
                    break;
                case var type:
                    // Item references and hosted tools' items (web_search_call, file_search_call, ...).
                    NativeOnly(request, param + ".type", $"An input item of type '{type}'");
                    break;
            }
        }

        if (request.Messages.Count == 0 && request.PassthroughOnly is null)
        {
            throw Json.Invalid("'input' must contain at least one user or assistant message.", "input");
        }
    }

    private static void ReadMessage(JsonElement item, string param, LlmRequest request)
    {
        var content = Json.Property(item, "content"u8);
        var parts = content.ValueKind == JsonValueKind.String ? [new LlmTextPart(content.GetString()!)] : ReadParts(content, param + ".content", request);
        switch (Json.OptionalString(item, "role"u8))
        {
            case "user":
                Turn(request, LlmRole.User).Content.AddRange(parts);
                break;
            case "assistant":
                Turn(request, LlmRole.Assistant).Content.AddRange(parts.Where(p => p is LlmTextPart));
                break;
            case "system" or "developer":
                request.System.AddRange(parts.OfType<LlmTextPart>());
                break;
            default:
                throw Json.Invalid($"'{param}.role' must be one of user, assistant, system, developer.", param + ".role");
        }
    }

    private static List<LlmContentPart> ReadParts(JsonElement content, string param, LlmRequest request)
    {
        if (content.ValueKind != JsonValueKind.Array)
        {
            throw Json.Invalid($"'{param}' must be a string or an array of content parts.", param);
        }

        var parts = new List<LlmContentPart>();
        var k = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partParam = $"{param}[{k++}]";
            switch (part.ValueKind == JsonValueKind.Object ? Json.OptionalString(part, "type"u8) : null)
            {
                case "input_text" or "output_text" or "text":
                    parts.Add(new LlmTextPart(Json.OptionalString(part, "text"u8) ?? throw Json.Invalid($"'{partParam}.text' is required.", partParam + ".text")));
                    break;
                case "refusal":
                    parts.Add(new LlmTextPart(Json.OptionalString(part, "refusal"u8) ?? ""));
                    break;
                case "input_image" when Json.OptionalString(part, "image_url"u8) is null:
                case "input_file":
                    NativeOnly(request, partParam, "A file from OpenAI's file store");
                    break;
                case "input_image":
                    parts.Add(OpenAIRequestReader.Image(Json.OptionalString(part, "image_url"u8)!, Json.OptionalString(part, "detail"u8)));
                    break;
                case var type:
                    throw Json.Invalid($"'{partParam}.type' '{type}' is not supported by this gateway (input_text, input_image, output_text, refusal).", partParam + ".type");
            }
        }

        return parts;
    }

    private static void ReadTools(JsonElement root, LlmRequest request)
    {
        if (root.TryGetProperty("tools"u8, out var tools) && tools.ValueKind != JsonValueKind.Null)
        {
            if (tools.ValueKind != JsonValueKind.Array)
            {
                throw Json.Invalid("'tools' must be an array.", "tools");
            }

            var i = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                var param = $"tools[{i++}]";
                if (Json.String(tool, "type"u8) is not "function")
                {
                    NativeOnly(request, param + ".type", $"The hosted tool '{Json.String(tool, "type"u8)}'");
                    continue;
                }

                var parameters = tool.TryGetProperty("parameters"u8, out var p) && p.ValueKind == JsonValueKind.Object ? p.GetRawText() : ToolSchemas.EmptyObjectSchema;
                request.Tools.Add(new LlmTool(Required(tool, "name"u8, param + ".name"), Json.OptionalString(tool, "description"u8), parameters)
                {
                    Strict = Json.OptionalBool(tool, "strict"u8),
                });
            }
        }

        if (root.TryGetProperty("tool_choice"u8, out var choice) && choice.ValueKind != JsonValueKind.Null)
        {
            request.ToolChoice = choice.ValueKind switch
            {
                JsonValueKind.String => OpenAIRequestReader.ToolChoice(choice.GetString()),
                JsonValueKind.Object when Json.String(choice, "type"u8) == "function" && Json.String(choice, "name"u8) is { } name => new LlmToolChoice(LlmToolChoiceMode.Function, name),
                _ => throw Json.Invalid("'tool_choice' must be auto, none, required or {\"type\":\"function\",\"name\":...}.", "tool_choice"),
            };
        }
    }

    private static void ReadTextFormat(JsonElement root, LlmRequest request)
    {
        if (!root.TryGetProperty("text"u8, out var text) || text.ValueKind != JsonValueKind.Object
            || !text.TryGetProperty("format"u8, out var format) || format.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        var type = format.ValueKind == JsonValueKind.Object ? Json.String(format, "type"u8) : null;
        request.ResponseFormat = OpenAIRequestReader.ResponseFormat(type, format, "text.format");
    }

    /// <summary>The conversation's last message if it has <paramref name="role"/>, else a new one: consecutive items of one
    /// turn (several function calls, several outputs) make one message, as chat's tool_calls and tool messages do.</summary>
    private static LlmMessage Turn(LlmRequest request, LlmRole role)
    {
        if (request.Messages.Count > 0 && request.Messages[^1].Role == role)
        {
            return request.Messages[^1];
        }

        var message = new LlmMessage(role);
        request.Messages.Add(message);
        return message;
    }

    private static string Required(JsonElement item, ReadOnlySpan<byte> name, string param) =>
        Json.OptionalString(item, name) is { Length: > 0 } value ? value : throw Json.Invalid($"'{param}' is required.", param);
}
