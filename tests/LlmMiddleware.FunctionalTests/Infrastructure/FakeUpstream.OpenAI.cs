using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>The OpenAI wire format (also Azure OpenAI and Mistral): chat completions, streamed or not, and embeddings.</summary>
public sealed partial class FakeUpstream
{
    // ---- OpenAI / Azure / Mistral ---------------------------------------------------------------

    private static readonly HashSet<string> OpenAIFields =
    [
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "n", "stop", "max_tokens", "max_completion_tokens",
        "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "user", "seed", "tools", "tool_choice",
        "parallel_tool_calls", "response_format", "reasoning_effort", "store", "metadata", "service_tier", "safety_identifier", "prompt_cache_key",
    ];

    private async Task HandleOpenAIAsync(HttpContext http, string provider)
    {
        var body = await ReadJsonAsync(http);
        Record(new FakeCall(provider, http.Request.Path, http.Request.QueryString.Value ?? "", new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body ?? new JsonObject()));
        string Error(string message, string type = "invalid_request_error") =>
            new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = null, ["code"] = null } }.ToJsonString();

        var authorized = provider switch
        {
            "azure" => http.Request.Headers["api-key"] == AzureKey && http.Request.Query.ContainsKey("api-version"),
            "mistral" => http.Request.Headers.Authorization == "Bearer " + MistralKey,
            "deepseek" => http.Request.Headers.Authorization == "Bearer " + DeepSeekKey,
            _ => http.Request.Headers.Authorization == "Bearer " + OpenAIKey,
        };
        if (!authorized)
        {
            await WriteJsonAsync(http, 401, Error("Incorrect API key provided.", "invalid_request_error"));
            return;
        }

        if (body is not JsonObject request)
        {
            await WriteJsonAsync(http, 400, Error("We could not parse the JSON body of your request."));
            return;
        }

        foreach (var (key, _) in request)
        {
            if (!OpenAIFields.Contains(key))
            {
                await WriteJsonAsync(http, 400, Error($"Unrecognized request argument supplied: {key}"));
                return;
            }

            if (provider == "mistral" && key is "max_completion_tokens" or "stream_options" or "store")
            {
                await WriteJsonAsync(http, 422, $$"""{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","{{key}}"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_error"}""");
                return;
            }
        }

        var messages = request["messages"]!.AsArray();
        var callIds = new HashSet<string>();
        foreach (var message in messages)
        {
            if (provider == "mistral" && message!["name"] is not null)
            {
                await WriteJsonAsync(http, 422, Error("messages[].name: Extra inputs are not permitted"));
                return;
            }

            if (provider == "deepseek" && message!["tool_calls"] is JsonArray { Count: > 0 } && message["reasoning_content"] is null)
            {
                await WriteJsonAsync(http, 400, Error("The reasoning_content in the thinking mode must be passed back to the API."));
                return;
            }

            foreach (var call in message!["tool_calls"]?.AsArray() ?? [])
            {
                if (call!["function"]!["arguments"] is not JsonValue args || args.GetValueKind() != JsonValueKind.String)
                {
                    await WriteJsonAsync(http, 400, Error("Invalid type for 'messages[].tool_calls[].function.arguments': expected a string."));
                    return;
                }

                var id = call["id"]!.GetValue<string>();
                if (provider == "mistral" && !Regex.IsMatch(id, "^[a-zA-Z0-9]{9}$"))
                {
                    await WriteJsonAsync(http, 400, Error($"Tool call id was {id} but must be a-z, A-Z, 0-9, with a length of 9."));
                    return;
                }

                callIds.Add(id);
            }

            if (message["role"]!.GetValue<string>() == "tool" && !callIds.Contains(message["tool_call_id"]!.GetValue<string>()))
            {
                await WriteJsonAsync(http, 400, Error("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."));
                return;
            }
        }

        TryTakeFault(provider, out var fault);
        if (await ApplyFaultAsync(http, fault))
        {
            return;
        }

        // Tool results answering the last assistant turn, possibly followed by a user message.
        var afterAssistant = messages.Reverse().TakeWhile(m => m!["role"]!.GetValue<string>() != "assistant").Reverse().ToList();
        var toolResults = afterAssistant.Where(m => m!["role"]!.GetValue<string>() == "tool").Select(m => m!["content"]!.GetValue<string>()).ToList() is { Count: > 0 } results ? results : null;
        var userText = messages.LastOrDefault(m => m!["role"]!.GetValue<string>() == "user")?["content"] is JsonValue v ? v.GetValue<string>() : "";
        var tools = request["tools"]?.AsArray().Select(t => t!["function"]!["name"]!.GetValue<string>()).ToList() ?? [];
        var plan = MakePlan(provider, userText, toolResults, tools, fault);
        if (provider == "mistral")
        {
            plan = plan with { ToolCalls = plan.ToolCalls.Select((c, i) => (Id: $"abcDEF12{i}", c.Name, c.Args)).ToList() };
        }

        var model = request["model"]!.GetValue<string>();
        var usage = new JsonObject { ["prompt_tokens"] = 11, ["completion_tokens"] = 7, ["total_tokens"] = 18, ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 3 } };
        if (request["stream"]?.GetValue<bool>() != true)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = plan.Text, ["refusal"] = null };
            if (provider == "deepseek")
            {
                message["reasoning_content"] = DeepSeekThought;
            }

            if (plan.ToolCalls.Count > 0)
            {
                message["tool_calls"] = new JsonArray(plan.ToolCalls.Select(c => (JsonNode)new JsonObject
                {
                    ["id"] = c.Id, ["type"] = "function", ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Args },
                }).ToArray());
            }

            var response = new JsonObject
            {
                ["id"] = "chatcmpl-fake1", ["object"] = "chat.completion", ["created"] = 1741570283, ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["logprobs"] = null, ["finish_reason"] = plan.ToolCalls.Count > 0 ? "tool_calls" : "stop" }),
                ["usage"] = usage,
            };
            await WriteJsonAsync(http, 200, response.ToJsonString());
            return;
        }

        var includeUsage = request["stream_options"]?["include_usage"]?.GetValue<bool>() == true || provider == "mistral";
        string Chunk(JsonObject delta, string? finish = null) => "data: " + new JsonObject
        {
            ["id"] = "chatcmpl-fake1", ["object"] = "chat.completion.chunk", ["created"] = 1741570283, ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
        }.ToJsonString() + "\n\n";

        var events = new List<string> { Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }) };
        if (provider == "deepseek")
        {
            events.Add(Chunk(new JsonObject { ["reasoning_content"] = DeepSeekThought }));
        }

        if (plan.Text is { } reply)
        {
            var half = reply.Length / 2;
            events.Add(Chunk(new JsonObject { ["content"] = reply[..half] }));
            events.Add(Chunk(new JsonObject { ["content"] = reply[half..] }));
        }

        for (var i = 0; i < plan.ToolCalls.Count; i++)
        {
            var c = plan.ToolCalls[i];
            events.Add(Chunk(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["id"] = c.Id, ["type"] = "function", ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = "" } }) }));
        }

        // Argument fragments of parallel calls interleaved, addressed by index.
        for (var part = 0; part < 2; part++)
        {
            for (var i = 0; i < plan.ToolCalls.Count; i++)
            {
                var args = plan.ToolCalls[i].Args;
                var fragment = part == 0 ? args[..(args.Length / 2)] : args[(args.Length / 2)..];
                events.Add(Chunk(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["function"] = new JsonObject { ["arguments"] = fragment } }) }));
            }
        }

        events.Add(Chunk(new JsonObject(), plan.ToolCalls.Count > 0 ? "tool_calls" : "stop"));
        if (includeUsage)
        {
            events.Add("data: " + new JsonObject { ["id"] = "chatcmpl-fake1", ["object"] = "chat.completion.chunk", ["created"] = 1741570283, ["model"] = model, ["choices"] = new JsonArray(), ["usage"] = usage }.ToJsonString() + "\n\n");
        }

        events.Add("data: [DONE]\n\n");
        await StreamAsync(http, events, fault);
    }

    private async Task HandleOpenAIEmbeddingsAsync(HttpContext http)
    {
        var body = await ReadJsonAsync(http);
        Record(new FakeCall("openai", http.Request.Path, "", new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body ?? new JsonObject()));
        if (TryTakeFault("openai", out var fault) && fault!.Status > 0)
        {
            await WriteJsonAsync(http, fault.Status, fault.Body ?? "{}");
            return;
        }

        var inputs = body!["input"] is JsonArray array ? array.Count : 1;
        var data = new JsonArray(Enumerable.Range(0, inputs).Select(i => (JsonNode)new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = new JsonArray(0.5, -0.25, i) }).ToArray());
        await WriteJsonAsync(http, 200, new JsonObject { ["object"] = "list", ["data"] = data, ["model"] = body["model"]!.GetValue<string>(), ["usage"] = new JsonObject { ["prompt_tokens"] = 2, ["total_tokens"] = 2 } }.ToJsonString());
    }
}
