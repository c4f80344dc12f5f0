using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// OpenAI's Responses API (OpenAI and Azure OpenAI's v1 API): strict about its fields, it keeps every response (store
/// defaults to true) so a later <c>previous_response_id</c> continues it, runs the hosted <c>web_search</c> tool, and
/// streams the Responses event sequence.
/// </summary>
public sealed partial class FakeUpstream
{
    private static readonly HashSet<string> ResponsesFields =
    [
        "model", "input", "instructions", "stream", "stream_options", "tools", "tool_choice", "text", "reasoning", "max_output_tokens",
        "temperature", "top_p", "parallel_tool_calls", "store", "previous_response_id", "conversation", "include", "metadata", "user",
        "safety_identifier", "prompt_cache_key", "truncation", "background", "service_tier",
    ];

    private readonly ConcurrentDictionary<string, List<JsonNode>> _storedResponses = new();

    private async Task HandleResponsesAsync(HttpContext http, string provider)
    {
        var body = await ReadJsonAsync(http);
        Record(new FakeCall(provider, http.Request.Path, http.Request.QueryString.Value ?? "", new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body ?? new JsonObject()));
        static string Error(string message, string? param = null) =>
            new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "invalid_request_error", ["param"] = param, ["code"] = null } }.ToJsonString();

        var authorized = provider == "azure" ? http.Request.Headers["api-key"] == AzureKey : http.Request.Headers.Authorization == "Bearer " + OpenAIKey;
        if (!authorized)
        {
            await WriteJsonAsync(http, 401, Error("Incorrect API key provided."));
            return;
        }

        if (body is not JsonObject request)
        {
            await WriteJsonAsync(http, 400, Error("We could not parse the JSON body of your request."));
            return;
        }

        if (request.Select(p => p.Key).FirstOrDefault(k => !ResponsesFields.Contains(k)) is { } unknown)
        {
            await WriteJsonAsync(http, 400, Error($"Unknown parameter: '{unknown}'.", unknown));
            return;
        }

        TryTakeFault(provider, out var fault);
        if (await ApplyFaultAsync(http, fault))
        {
            return;
        }

        // The conversation so far: a stored response's items, then this request's input.
        var items = new List<JsonNode>();
        if (request["previous_response_id"]?.GetValue<string>() is { } previous)
        {
            if (!_storedResponses.TryGetValue(previous, out var earlier))
            {
                await WriteJsonAsync(http, 400, Error($"Previous response with id '{previous}' not found.", "previous_response_id"));
                return;
            }

            items.AddRange(earlier.Select(i => i.DeepClone()));
        }

        items.AddRange(request["input"] is JsonArray input ? input.Select(i => i!.DeepClone()) : [new JsonObject { ["role"] = "user", ["content"] = request["input"]!.GetValue<string>() }]);
        var tools = request["tools"]?.AsArray() ?? [];
        var userText = items.LastOrDefault(i => i!["role"]?.GetValue<string>() == "user")?["content"] switch
        {
            JsonValue text => text.GetValue<string>(),
            JsonArray parts => string.Concat(parts.Select(p => p!["text"]?.GetValue<string>())),
            _ => "",
        };
        var outputs = items.SkipWhile(i => i!["type"]?.GetValue<string>() != "function_call").Where(i => i!["type"]?.GetValue<string>() == "function_call_output").Select(i => i!["output"]!.GetValue<string>()).ToList();
        var plan = MakePlan(provider, userText, outputs.Count > 0 ? outputs : null, [.. tools.Where(t => t!["type"]!.GetValue<string>() == "function").Select(t => t!["name"]!.GetValue<string>())], null);

        var id = $"resp_fake{_storedResponses.Count}";
        var output = new JsonArray();
        if (tools.Any(t => t!["type"]!.GetValue<string>() == "web_search"))
        {
            output.Add(new JsonObject { ["id"] = "ws_fake", ["type"] = "web_search_call", ["status"] = "completed", ["action"] = new JsonObject { ["type"] = "search", ["query"] = userText } });
        }

        if (plan.Text is { } reply)
        {
            output.Add(new JsonObject { ["id"] = "msg_fake", ["type"] = "message", ["status"] = "completed", ["role"] = "assistant", ["content"] = new JsonArray(new JsonObject { ["type"] = "output_text", ["text"] = reply, ["annotations"] = new JsonArray() }) });
        }

        foreach (var (callId, name, args) in plan.ToolCalls)
        {
            output.Add(new JsonObject { ["id"] = "fc_" + callId, ["type"] = "function_call", ["status"] = "completed", ["call_id"] = callId, ["name"] = name, ["arguments"] = args });
        }

        var usage = new JsonObject { ["input_tokens"] = 13, ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 }, ["output_tokens"] = 9, ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 }, ["total_tokens"] = 22 };
        JsonObject Response(string status, JsonArray items, JsonNode? usage) => new()
        {
            ["id"] = id, ["object"] = "response", ["created_at"] = 1741570283, ["status"] = status, ["error"] = null, ["incomplete_details"] = null,
            ["model"] = request["model"]!.GetValue<string>(), ["output"] = items, ["store"] = request["store"]?.GetValue<bool>() ?? true, ["usage"] = usage,
        };

        if (request["store"]?.GetValue<bool>() != false)
        {
            _storedResponses[id] = [.. items, .. output.Select(o => o!.DeepClone())];
        }

        if (request["stream"]?.GetValue<bool>() != true)
        {
            await WriteJsonAsync(http, 200, Response("completed", output, usage).ToJsonString());
            return;
        }

        var sequence = 0;
        var events = new List<string>();
        void Event(string type, JsonObject data)
        {
            data["type"] = type;
            data["sequence_number"] = sequence++;
            events.Add($"event: {type}\ndata: {data.ToJsonString()}\n\n");
        }

        Event("response.created", new JsonObject { ["response"] = Response("in_progress", [], null) });
        for (var i = 0; i < output.Count; i++)
        {
            var item = output[i]!;
            Event("response.output_item.added", new JsonObject { ["output_index"] = i, ["item"] = item.DeepClone() });
            if (item["type"]!.GetValue<string>() == "message")
            {
                var text = item["content"]![0]!["text"]!.GetValue<string>();
                Event("response.output_text.delta", new JsonObject { ["item_id"] = "msg_fake", ["output_index"] = i, ["content_index"] = 0, ["delta"] = text[..(text.Length / 2)] });
                Event("response.output_text.delta", new JsonObject { ["item_id"] = "msg_fake", ["output_index"] = i, ["content_index"] = 0, ["delta"] = text[(text.Length / 2)..] });
            }
            else if (item["type"]!.GetValue<string>() == "function_call")
            {
                Event("response.function_call_arguments.delta", new JsonObject { ["item_id"] = item["id"]!.GetValue<string>(), ["output_index"] = i, ["delta"] = item["arguments"]!.GetValue<string>() });
            }

            Event("response.output_item.done", new JsonObject { ["output_index"] = i, ["item"] = item.DeepClone() });
        }

        Event("response.completed", new JsonObject { ["response"] = Response("completed", output, usage) });
        await StreamAsync(http, events, fault);
    }
}
