using System.Collections.Frozen;
using System.Text.Json;

namespace LlmMiddleware.Protocols.OpenAI;

/// <summary>Parses an OpenAI Chat Completions request body into an <see cref="LlmRequest"/>.</summary>
internal static class OpenAIRequestReader
{
    /// <summary>The top-level fields this reader turns into the parsed request; any other is kept raw
    /// (<see cref="LlmRequest.UnmodeledFields"/>).</summary>
    private static readonly FrozenSet<string> ModeledFields = FrozenSet.Create(StringComparer.Ordinal,
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "max_completion_tokens", "max_tokens", "parallel_tool_calls",
        "user", "safety_identifier", "n", "seed", "presence_penalty", "frequency_penalty", "reasoning_effort", "stop", "response_format",
        "tool_choice", "tools");

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
            MaxOutputTokens = Json.OptionalInt(root, "max_completion_tokens"u8) ?? Json.OptionalInt(root, "max_tokens"u8),
            ParallelToolCalls = Json.OptionalBool(root, "parallel_tool_calls"u8),
            User = Json.OptionalString(root, "user"u8) ?? Json.OptionalString(root, "safety_identifier"u8),
            N = Json.OptionalInt(root, "n"u8),
            Seed = Json.OptionalLong(root, "seed"u8),
            PresencePenalty = Json.OptionalNumber(root, "presence_penalty"u8),
            FrequencyPenalty = Json.OptionalNumber(root, "frequency_penalty"u8),
        };

        if (request.Temperature is < 0 or > 2)
        {
            throw Json.Invalid("'temperature' must be between 0 and 2.", "temperature");
        }

        if (request.MaxOutputTokens is <= 0)
        {
            throw Json.Invalid("'max_completion_tokens' must be positive.", "max_completion_tokens");
        }

        if (root.TryGetProperty("stream_options"u8, out var streamOptions) && streamOptions.ValueKind == JsonValueKind.Object)
        {
            request.StreamIncludeUsage = Json.OptionalBool(streamOptions, "include_usage"u8) ?? false;
        }

        if (Json.OptionalString(root, "reasoning_effort"u8) is { } effort)
        {
            request.Reasoning = new LlmReasoning { Effort = effort, Disabled = effort == "none" };
        }

        ReadStop(root, request);
        ReadMessages(root, request);
        ReadTools(root, request);
        ReadResponseFormat(root, request);
        request.Routing = ReadRouting(root);

        // models and provider stay unmodeled too: with per-request routing off they reach the provider as sent.
        request.UnmodeledFields = Json.Unmodeled(root, ModeledFields);
        return request;
    }

    /// <summary>OpenRouter's <c>models</c> and <c>provider</c> (<c>order</c>, <c>allow_fallbacks</c>, <c>sort</c>).</summary>
    private static LlmRequestRouting? ReadRouting(JsonElement root)
    {
        var hasModels = root.TryGetProperty("models"u8, out var models) && models.ValueKind != JsonValueKind.Null;
        var hasProvider = root.TryGetProperty("provider"u8, out var provider) && provider.ValueKind != JsonValueKind.Null;
        if (!hasModels && !hasProvider)
        {
            return null;
        }

        var routing = new LlmRequestRouting();
        if (hasModels)
        {
            routing.Models.AddRange(Strings(models, "models"));
        }

        if (hasProvider)
        {
            if (provider.ValueKind != JsonValueKind.Object)
            {
                throw Json.Invalid("'provider' must be an object.", "provider");
            }

            if (provider.TryGetProperty("order"u8, out var order) && order.ValueKind != JsonValueKind.Null)
            {
                routing.ProviderOrder.AddRange(Strings(order, "provider.order"));
            }

            routing.AllowFallbacks = Json.OptionalBool(provider, "allow_fallbacks"u8) ?? true;
            routing.Sort = Json.OptionalString(provider, "sort"u8) switch
            {
                null => null,
                "price" => LlmProviderSort.Price,
                "throughput" => LlmProviderSort.Throughput,
                "latency" => LlmProviderSort.Latency,
                _ => throw Json.Invalid("'provider.sort' must be one of price, throughput, latency.", "provider.sort"),
            };
        }

        return routing;

        static IEnumerable<string> Strings(JsonElement array, string param) =>
            array.ValueKind == JsonValueKind.Array && array.EnumerateArray().All(m => m.ValueKind == JsonValueKind.String && m.GetString()!.Length > 0)
                ? array.EnumerateArray().Select(m => m.GetString()!).ToList()
                : throw Json.Invalid($"'{param}' must be an array of non-empty strings.", param);
    }

    private static void ReadStop(JsonElement root, LlmRequest request)
    {
        if (!root.TryGetProperty("stop"u8, out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            request.StopSequences.Add(stop.GetString()!);
        }
        else if (stop.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in stop.EnumerateArray())
            {
                request.StopSequences.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Json.Invalid("'stop' must be a string or an array of strings.", "stop"));
            }
        }
        else
        {
            throw Json.Invalid("'stop' must be a string or an array of strings.", "stop");
        }
    }

    private static void ReadMessages(JsonElement root, LlmRequest request)
    {
        if (!root.TryGetProperty("messages"u8, out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw Json.Invalid("'messages' must be an array.", "messages");
        }

        var i = -1;
        foreach (var message in messages.EnumerateArray())
        {
            i++;
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw Json.Invalid($"'{Param(i)}' must be an object.", Param(i));
            }

            // The role is matched as UTF-8, and a message's parameter path made only for an error: no strings per message.
            if (!message.TryGetProperty("role"u8, out var role) || role.ValueKind == JsonValueKind.Null)
            {
                throw Json.Invalid($"'{Param(i)}.role' is required.", Param(i) + ".role");
            }

            if (role.ValueKind != JsonValueKind.String)
            {
                throw Json.Invalid("'role' must be a string.", "role");
            }

            message.TryGetProperty("content"u8, out var content);
            if (role.ValueEquals("user"u8))
            {
                var user = new LlmMessage(LlmRole.User) { Name = Json.OptionalString(message, "name"u8) };
                user.Content.AddRange(ReadContent(content, i, allowImages: true));
                request.Messages.Add(user);
            }
            else if (role.ValueEquals("system"u8) || role.ValueEquals("developer"u8))
            {
                foreach (var part in ReadContent(content, i, allowImages: false))
                {
                    request.System.Add((LlmTextPart)part);
                }
            }
            else if (role.ValueEquals("assistant"u8))
            {
                request.Messages.Add(ReadAssistant(message, content, i));
            }
            else if (role.ValueEquals("tool"u8))
            {
                var id = Json.OptionalString(message, "tool_call_id"u8) ?? throw Json.Invalid($"'{Param(i)}.tool_call_id' is required.", Param(i) + ".tool_call_id");
                var result = new LlmToolResultPart(id);
                result.Content.AddRange(ReadContent(content, i, allowImages: false));
                var tool = new LlmMessage(LlmRole.Tool);
                tool.Content.Add(result);
                request.Messages.Add(tool);
            }
            else
            {
                throw Json.Invalid($"'{Param(i)}.role' must be one of system, developer, user, assistant, tool; got '{role.GetString()}'.", Param(i) + ".role");
            }
        }

        if (request.Messages.Count == 0)
        {
            throw Json.Invalid("'messages' must contain at least one user or assistant message.", "messages");
        }
    }

    private static string Param(int message) => $"messages[{message}]";

    private static LlmMessage ReadAssistant(JsonElement message, JsonElement content, int index)
    {
        var param = Param(index);
        var assistant = new LlmMessage(LlmRole.Assistant) { Name = Json.OptionalString(message, "name"u8) };
        var reasoning = Json.OptionalString(message, "reasoning_content"u8);
        if (!string.IsNullOrEmpty(reasoning))
        {
            assistant.Content.Add(new LlmReasoningPart(reasoning));
        }

        if (content.ValueKind != JsonValueKind.Undefined && content.ValueKind != JsonValueKind.Null)
        {
            assistant.Content.AddRange(ReadContent(content, index, allowImages: false));
        }

        if (message.TryGetProperty("tool_calls"u8, out var calls) && calls.ValueKind != JsonValueKind.Null)
        {
            if (calls.ValueKind != JsonValueKind.Array)
            {
                throw Json.Invalid($"'{param}.tool_calls' must be an array.", param + ".tool_calls");
            }

            var j = 0;
            foreach (var call in calls.EnumerateArray())
            {
                var callParam = $"{param}.tool_calls[{j++}]";
                var function = Json.Property(call, "function"u8);
                var id = Json.OptionalString(call, "id"u8) ?? throw Json.Invalid($"'{callParam}.id' is required.", callParam + ".id");
                var name = function.ValueKind == JsonValueKind.Object ? Json.OptionalString(function, "name"u8) : null;
                if (string.IsNullOrEmpty(name))
                {
                    throw Json.Invalid($"'{callParam}.function.name' is required.", callParam + ".function.name");
                }

                var arguments = function.TryGetProperty("arguments"u8, out var args) ? args : default;
                if (arguments.ValueKind is not (JsonValueKind.String or JsonValueKind.Undefined or JsonValueKind.Null))
                {
                    throw Json.Invalid($"'{callParam}.function.arguments' must be a JSON-encoded string.", callParam + ".function.arguments");
                }

                assistant.Content.Add(new LlmToolCallPart(id, name, Json.NormalizeObjectJson(arguments.ValueKind == JsonValueKind.String ? arguments.GetString() : null)));
            }
        }

        return assistant;
    }

    private static List<LlmContentPart> ReadContent(JsonElement content, int message, bool allowImages)
    {
        var parts = new List<LlmContentPart>();
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                parts.Add(new LlmTextPart(content.GetString()!));
                break;
            case JsonValueKind.Array:
                var k = 0;
                foreach (var part in content.EnumerateArray())
                {
                    var partParam = $"{Param(message)}.content[{k++}]";
                    var type = part.ValueKind == JsonValueKind.Object ? Json.OptionalString(part, "type"u8) : null;
                    var count = parts.Count;
                    switch (type)
                    {
                        case "text":
                            parts.Add(new LlmTextPart(Json.OptionalString(part, "text"u8) ?? throw Json.Invalid($"'{partParam}.text' is required.", partParam + ".text")));
                            break;
                        case "image_url" when allowImages:
                            parts.Add(ReadImage(Json.Property(part, "image_url"u8), partParam));
                            break;
                        case "refusal":
                            parts.Add(new LlmTextPart(Json.OptionalString(part, "refusal"u8) ?? ""));
                            break;
                        case "image_url":
                            throw Json.Invalid($"'{partParam}.type' 'image_url' is only allowed in user messages.", partParam + ".type");
                        case { Length: > 0 } when type != "text":
                            parts.Add(new LlmNativePart(LlmProtocol.OpenAIChat, type, part.GetRawText()));
                            break;
                        default:
                            throw Json.Invalid($"'{partParam}.type' is required.", partParam + ".type");
                    }

                    // Prompt-caching breakpoints on OpenAI content parts (a common extension) reach providers that use them.
                    if (parts.Count > count && Json.RawObject(part, "cache_control"u8) is { } cacheControl)
                    {
                        parts[^1].CacheControl = cacheControl;
                    }
                }

                break;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                break;
            default:
                throw Json.Invalid($"'{Param(message)}.content' must be a string or an array of content parts.", Param(message) + ".content");
        }

        return parts;
    }

    private static LlmImagePart ReadImage(JsonElement imageUrl, string param)
    {
        var url = imageUrl.ValueKind == JsonValueKind.Object ? Json.OptionalString(imageUrl, "url"u8) : null;
        if (string.IsNullOrEmpty(url))
        {
            throw Json.Invalid($"'{param}.image_url.url' is required.", param + ".image_url.url");
        }

        return Image(url, Json.OptionalString(imageUrl, "detail"u8));
    }

    /// <summary>An image given by URL: a data URL's bytes inline, any other URL as it is.</summary>
    internal static LlmImagePart Image(string url, string? detail) => DataUrl.TryParse(url, out var mediaType, out var data)
        ? new LlmImagePart { MediaType = mediaType, Data = data, Detail = detail }
        : new LlmImagePart { Url = url, Detail = detail };

    /// <summary>A tool choice given as a string (chat's and the Responses API's alike).</summary>
    internal static LlmToolChoice ToolChoice(string? mode) => mode switch
    {
        "auto" => new LlmToolChoice(LlmToolChoiceMode.Auto),
        "none" => new LlmToolChoice(LlmToolChoiceMode.None),
        "required" => new LlmToolChoice(LlmToolChoiceMode.Required),
        _ => throw Json.Invalid($"'tool_choice' '{mode}' is not one of auto, none, required.", "tool_choice"),
    };

    /// <summary>A response format of <paramref name="type"/>; <paramref name="schema"/> holds its <c>name</c>,
    /// <c>schema</c> and <c>strict</c> (chat nests them in <c>json_schema</c>, the Responses API does not).</summary>
    internal static LlmResponseFormat? ResponseFormat(string? type, JsonElement schema, string param) => type switch
    {
        "text" => null,
        "json_object" => new LlmResponseFormat(LlmResponseFormatKind.JsonObject),
        "json_schema" => new LlmResponseFormat(
            LlmResponseFormatKind.JsonSchema,
            Json.String(schema, "name"u8) ?? "response",
            Json.Property(schema, "schema"u8) is { ValueKind: JsonValueKind.Object } body ? body.GetRawText() : ToolSchemas.EmptyObjectSchema,
            Json.OptionalBool(schema, "strict"u8)),
        _ => throw Json.Invalid($"'{param}.type' must be text, json_object or json_schema.", param),
    };

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
                var function = Json.Property(tool, "function"u8);
                if (Json.String(tool, "type"u8) != "function" || function.ValueKind != JsonValueKind.Object)
                {
                    throw Json.Invalid($"'{param}' must be a function tool: {{\"type\":\"function\",\"function\":{{...}}}}.", param);
                }

                var name = Json.OptionalString(function, "name"u8);
                if (string.IsNullOrEmpty(name))
                {
                    throw Json.Invalid($"'{param}.function.name' is required.", param + ".function.name");
                }

                var parameters = function.TryGetProperty("parameters"u8, out var p) && p.ValueKind == JsonValueKind.Object ? p.GetRawText() : ToolSchemas.EmptyObjectSchema;
                request.Tools.Add(new LlmTool(name, Json.OptionalString(function, "description"u8), parameters)
                {
                    Strict = Json.OptionalBool(function, "strict"u8),
                    CacheControl = Json.RawObject(tool, "cache_control"u8),
                });
            }
        }

        if (root.TryGetProperty("tool_choice"u8, out var choice) && choice.ValueKind != JsonValueKind.Null)
        {
            request.ToolChoice = choice.ValueKind switch
            {
                JsonValueKind.String => ToolChoice(choice.GetString()),
                JsonValueKind.Object when Json.String(Json.Property(choice, "function"u8), "name"u8) is { } name => new LlmToolChoice(LlmToolChoiceMode.Function, name),
                _ => throw Json.Invalid("'tool_choice' must be auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}.", "tool_choice"),
            };
        }
    }

    private static void ReadResponseFormat(JsonElement root, LlmRequest request)
    {
        if (!root.TryGetProperty("response_format"u8, out var format) || format.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        var type = format.ValueKind == JsonValueKind.Object ? Json.String(format, "type"u8) : null;
        request.ResponseFormat = ResponseFormat(type, Json.Property(format, "json_schema"u8), "response_format");
    }
}
