using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>The Anthropic Messages wire format, with the request rules the real API enforces.</summary>
public sealed partial class FakeUpstream
{
    // ---- Anthropic ------------------------------------------------------------------------------

    private static readonly HashSet<string> AnthropicFields =
    [
        "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "thinking", "service_tier", "container", "mcp_servers", "output_config", "context_management", "inference_geo",
    ];

    /// <summary>The fields Anthropic's count_tokens accepts; anything else (max_tokens, stream, temperature) is a 400 there.</summary>
    private static readonly HashSet<string> CountTokensFields = ["model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "output_config", "context_management", "cache_control", "speed"];

    /// <summary>Anthropic's count_tokens: the same key and version checks, strict about its fields; counts a token per
    /// four characters of the messages' JSON (the fake's own rule, so a test can tell its answer from a local count).</summary>
    private async Task HandleAnthropicCountTokensAsync(HttpContext http)
    {
        var body = await ReadJsonAsync(http);
        Record(new FakeCall("anthropic", http.Request.Path, "", new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body ?? new JsonObject()));
        var problem = http.Request.Headers["x-api-key"] != AnthropicKey ? "invalid x-api-key"
            : string.IsNullOrEmpty(http.Request.Headers["anthropic-version"]) ? "anthropic-version: header is required"
            : body is not JsonObject request ? "There was an issue with your request body: invalid JSON"
            : request.Select(p => p.Key).FirstOrDefault(k => !CountTokensFields.Contains(k)) is { } extra ? $"{extra}: Extra inputs are not permitted"
            : request["model"]?.GetValue<string>() is not { Length: > 0 } ? "model: Field required"
            : request["messages"] is not JsonArray { Count: > 0 } ? "messages: Field required"
            : null;
        if (problem is not null)
        {
            await WriteJsonAsync(http, problem.StartsWith("invalid x-api-key", StringComparison.Ordinal) ? 401 : 400, new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = "invalid_request_error", ["message"] = problem } }.ToJsonString());
            return;
        }

        await WriteJsonAsync(http, 200, new JsonObject { ["input_tokens"] = body!["messages"]!.ToJsonString().Length / 4 }.ToJsonString());
    }

    /// <summary>Anthropic's API, or (<paramref name="vertexModel"/> set) Claude on Vertex AI: a Google OAuth token, the
    /// model in the URL and never in the body, the version <c>vertex-2023-10-16</c> in the body.</summary>
    private async Task HandleAnthropicAsync(HttpContext http, string? vertexModel = null)
    {
        var body = await ReadJsonAsync(http);
        Record(new FakeCall(vertexModel is null ? "anthropic" : "vertex-anthropic", http.Request.Path, "", new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body ?? new JsonObject()));
        static string Error(string message, string type = "invalid_request_error") =>
            new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = type, ["message"] = message }, ["request_id"] = "req_fake" }.ToJsonString();

        if (vertexModel is not null)
        {
            if (!IsGoogleToken(http))
            {
                await WriteJsonAsync(http, 401, Error("Request had invalid authentication credentials.", "authentication_error"));
                return;
            }

            if (body is not JsonObject vertex || vertex["model"] is not null || vertex["anthropic_version"]?.GetValue<string>() != "vertex-2023-10-16")
            {
                await WriteJsonAsync(http, 400, Error("anthropic_version: must be vertex-2023-10-16, and the model is named in the URL only"));
                return;
            }

            vertex.Remove("anthropic_version");
            vertex["model"] = vertexModel;
        }
        else if (http.Request.Headers["x-api-key"] != AnthropicKey)
        {
            await WriteJsonAsync(http, 401, Error("invalid x-api-key", "authentication_error"));
            return;
        }
        else if (string.IsNullOrEmpty(http.Request.Headers["anthropic-version"]))
        {
            await WriteJsonAsync(http, 400, Error("anthropic-version: header is required"));
            return;
        }

        if (body is not JsonObject request)
        {
            await WriteJsonAsync(http, 400, Error("There was an issue with your request body: invalid JSON"));
            return;
        }

        var problem = ValidateAnthropic(request, http.Request.Headers["anthropic-beta"].ToString());
        if (problem is not null)
        {
            await WriteJsonAsync(http, 400, Error(problem));
            return;
        }

        TryTakeFault("anthropic", out var fault);
        if (await ApplyFaultAsync(http, fault))
        {
            return;
        }

        var messages = request["messages"]!.AsArray();
        var lastContent = messages[^1]!["content"];
        var blocks = lastContent as JsonArray ?? new JsonArray(new JsonObject { ["type"] = "text", ["text"] = lastContent!.GetValue<string>() });
        var results = blocks.Where(b => b!["type"]!.GetValue<string>() == "tool_result").Select(b => ResultText(b!["content"])).ToList();
        var userText = string.Concat(blocks.Where(b => b!["type"]!.GetValue<string>() == "text").Select(b => b!["text"]!.GetValue<string>()));
        var tools = request["tools"]?.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToList() ?? [];
        var plan = MakePlan("anthropic", userText, results.Count > 0 ? results : null, tools, fault);
        plan = plan with { ToolCalls = plan.ToolCalls.Select(c => (Id: "toolu_" + c.Id, c.Name, c.Args)).ToList() };
        var model = request["model"]!.GetValue<string>();
        var stop = plan.ToolCalls.Count > 0 ? "tool_use" : "end_turn";

        if (request["stream"]?.GetValue<bool>() != true)
        {
            var content = new JsonArray();
            if (plan.Text is { } text)
            {
                content.Add(new JsonObject { ["type"] = "text", ["text"] = text });
            }

            foreach (var c in plan.ToolCalls)
            {
                content.Add(new JsonObject { ["type"] = "tool_use", ["id"] = c.Id, ["name"] = c.Name, ["input"] = JsonNode.Parse(c.Args), ["caller"] = new JsonObject { ["type"] = "direct" } });
            }

            await WriteJsonAsync(http, 200, new JsonObject
            {
                ["id"] = "msg_fake1", ["type"] = "message", ["role"] = "assistant", ["model"] = model, ["content"] = content,
                ["stop_reason"] = stop, ["stop_sequence"] = null,
                ["usage"] = new JsonObject { ["input_tokens"] = 8, ["cache_creation_input_tokens"] = 0, ["cache_read_input_tokens"] = 3, ["output_tokens"] = 7 },
            }.ToJsonString());
            return;
        }

        static string Event(string name, JsonObject data) => $"event: {name}\ndata: {data.ToJsonString()}\n\n";
        var events = new List<string>
        {
            Event("message_start", new JsonObject
            {
                ["type"] = "message_start",
                ["message"] = new JsonObject
                {
                    ["id"] = "msg_fake1", ["type"] = "message", ["role"] = "assistant", ["model"] = model, ["content"] = new JsonArray(),
                    ["stop_reason"] = null, ["stop_sequence"] = null,
                    ["usage"] = new JsonObject { ["input_tokens"] = 8, ["cache_creation_input_tokens"] = 0, ["cache_read_input_tokens"] = 3, ["output_tokens"] = 1 },
                },
            }),
            Event("ping", new JsonObject { ["type"] = "ping" }),
        };
        var index = 0;
        if (plan.Text is { } reply)
        {
            var half = reply.Length / 2;
            events.Add(Event("content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } }));
            events.Add(Event("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = reply[..half] } }));
            events.Add(Event("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = reply[half..] } }));
            events.Add(Event("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index }));
            index++;
        }

        foreach (var c in plan.ToolCalls)
        {
            events.Add(Event("content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = new JsonObject { ["type"] = "tool_use", ["id"] = c.Id, ["name"] = c.Name, ["input"] = new JsonObject(), ["caller"] = new JsonObject { ["type"] = "direct" } } }));
            events.Add(Event("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = "" } }));
            events.Add(Event("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = c.Args[..5] } }));
            events.Add(Event("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = c.Args[5..] } }));
            events.Add(Event("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index }));
            index++;
        }

        events.Add(Event("message_delta", new JsonObject { ["type"] = "message_delta", ["delta"] = new JsonObject { ["stop_reason"] = stop, ["stop_sequence"] = null }, ["usage"] = new JsonObject { ["output_tokens"] = 7 } }));
        events.Add(Event("message_stop", new JsonObject { ["type"] = "message_stop" }));
        await StreamAsync(http, events, fault);
    }

    private static string ResultText(JsonNode? content) => content switch
    {
        null => "",
        JsonArray blocks => string.Concat(blocks.Where(b => b!["type"]!.GetValue<string>() == "text").Select(b => b!["text"]!.GetValue<string>())),
        _ => content.GetValue<string>(),
    };

    /// <summary>The rules the real Messages API enforces that translation most often breaks.</summary>
    private static string? ValidateAnthropic(JsonObject request, string betas)
    {
        foreach (var (key, _) in request)
        {
            if (!AnthropicFields.Contains(key))
            {
                return $"{key}: Extra inputs are not permitted";
            }
        }

        if (request["max_tokens"] is null)
        {
            return "max_tokens: Field required";
        }

        if (request["temperature"] is { } t && t.GetValue<double>() > 1)
        {
            return "temperature: Input should be less than or equal to 1";
        }

        var hasTools = request["tools"] is JsonArray { Count: > 0 };
        var messages = request["messages"]!.AsArray();
        HashSet<string>? pendingToolUses = null;
        var previousRole = "";
        for (var i = 0; i < messages.Count; i++)
        {
            var role = messages[i]!["role"]!.GetValue<string>();
            if (role == "system")
            {
                // Mid-conversation instructions exist only under their beta, hold text only, and sit outside the alternation.
                if (!betas.Contains("mid-conversation-system-2026-04-07", StringComparison.Ordinal))
                {
                    return $"messages.{i}.role: Input should be 'user' or 'assistant'";
                }

                if (messages[i]!["content"] is JsonArray systemBlocks && systemBlocks.Any(b => b!["type"]!.GetValue<string>() != "text"))
                {
                    return $"messages.{i}.content: system messages may only contain text blocks";
                }

                continue;
            }

            if (role is not ("user" or "assistant"))
            {
                return $"messages.{i}.role: Input should be 'user' or 'assistant'";
            }

            if (role == previousRole)
            {
                return $"messages: roles must alternate between \"user\" and \"assistant\"";
            }

            previousRole = role;
            var content = messages[i]!["content"];
            if (content is JsonValue text)
            {
                if (text.GetValue<string>().Length == 0)
                {
                    return $"messages.{i}: text content blocks must be non-empty";
                }

                if (pendingToolUses is { Count: > 0 })
                {
                    return $"messages.{i}: tool_use ids were found without tool_result blocks immediately after: {string.Join(", ", pendingToolUses)}";
                }

                continue;
            }

            var blocks = content!.AsArray();
            if (blocks.Count == 0)
            {
                return $"messages.{i}: all messages must have non-empty content";
            }

            var seenNonResult = false;
            var answered = new HashSet<string>();
            foreach (var block in blocks)
            {
                var type = block!["type"]!.GetValue<string>();
                if (type == "text" && block["text"]!.GetValue<string>().Length == 0)
                {
                    return $"messages.{i}: text content blocks must be non-empty";
                }

                if (type == "tool_use")
                {
                    if (!hasTools)
                    {
                        return "Requests which include `tool_use` or `tool_result` blocks must define tools.";
                    }

                    if (!Regex.IsMatch(block["id"]!.GetValue<string>(), "^[a-zA-Z0-9_-]+$"))
                    {
                        return $"messages.{i}.content.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'";
                    }

                    (pendingToolUses ??= []).Add(block["id"]!.GetValue<string>());
                }
                else if (type == "tool_result")
                {
                    if (!hasTools)
                    {
                        return "Requests which include `tool_use` or `tool_result` blocks must define tools.";
                    }

                    var id = block["tool_use_id"]!.GetValue<string>();
                    if (seenNonResult || pendingToolUses is null || !pendingToolUses.Contains(id))
                    {
                        return $"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.";
                    }

                    answered.Add(id);
                }
                else
                {
                    seenNonResult = true;
                }
            }

            if (role == "user")
            {
                if (pendingToolUses is { Count: > 0 } && !pendingToolUses.SetEquals(answered))
                {
                    return $"messages.{i}: tool_use ids were found without tool_result blocks immediately after: {string.Join(", ", pendingToolUses.Except(answered))}";
                }

                pendingToolUses = null;
            }
        }

        return null;
    }
}
