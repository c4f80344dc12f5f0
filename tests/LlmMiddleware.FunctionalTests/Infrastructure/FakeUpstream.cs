using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>A scripted fault or reply override for the next upstream call.</summary>
public sealed record FakeFault
{
    public int Status { get; init; }
    public string? Body { get; init; }
    public Dictionary<string, string> Headers { get; init; } = [];

    /// <summary>For streams: close the connection abruptly after this many events.</summary>
    public int? BreakAfterEvents { get; init; }

    /// <summary>For streams: wait this long between events.</summary>
    public TimeSpan EventDelay { get; init; }

    /// <summary>For streams: send this many events before <see cref="EventDelay"/> starts applying.</summary>
    public int DelayAfterEvents { get; init; }

    /// <summary>Wait this long before answering at all (no headers).</summary>
    public TimeSpan HeaderDelay { get; init; }

    /// <summary>Wait until this task completes before answering at all (no headers): holds a call open for exactly as long as a test needs.</summary>
    public Task? HoldUntil { get; init; }

    /// <summary>Before answering, wait until a call to this provider has arrived: orders the legs of a race.</summary>
    public string? AfterCallTo { get; init; }

    /// <summary>Only a call to this provider (<c>openai</c>, <c>anthropic</c>, ...) takes the fault; any call when null.</summary>
    public string? Provider { get; init; }

    /// <summary>Replace the reply text.</summary>
    public string? Text { get; init; }

    /// <summary>Completed when the fake starts holding back (before <see cref="HeaderDelay"/>, <see cref="HoldUntil"/> or
    /// <see cref="EventDelay"/>): the moment a test on a fake clock advances it past the gateway's time limit.</summary>
    public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What the fake received.</summary>
public sealed record FakeCall(string Provider, string Path, string Query, IHeaderDictionary Headers, JsonNode Body);

/// <summary>
/// One loopback Kestrel server that speaks OpenAI (<c>/openai/v1</c>), Azure OpenAI (<c>/azure</c>), Mistral
/// (<c>/mistral/v1</c>), Anthropic (<c>/anthropic</c>) and Gemini (<c>/gemini</c>), each as strict as the real API
/// about what it rejects. Replies are deterministic: with tools offered and a user turn last, every tool (up to two)
/// is called in parallel; with tool results last, the results are echoed; otherwise a greeting echoes the user.
/// Its wire encoding is written independently of the gateway's codecs.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    public const string OpenAIKey = "sk-upstream-openai";
    public const string AnthropicKey = "sk-ant-upstream";
    public const string GeminiKey = "gemini-upstream-key";
    public const string AzureKey = "azure-upstream-key";
    public const string MistralKey = "mistral-upstream-key";

    private readonly WebApplication _app;
    private readonly List<FakeFault> _faults = [];
    private readonly ConcurrentDictionary<string, bool> _issuedSignatures = new();

    public ConcurrentQueue<FakeCall> Calls { get; } = new();

    /// <summary>Raised as calls arrive.</summary>
    public Changes Changes { get; } = new();

    /// <summary>Waits until <paramref name="condition"/> holds of the calls received.</summary>
    public Task WaitForCallsAsync(Func<IEnumerable<FakeCall>, bool> condition, string failure) => Changes.UntilAsync(() => condition(Calls), failure);

    private void Record(FakeCall call)
    {
        Calls.Enqueue(call);
        Changes.Notify();
    }

    private int _imageFetches;

    /// <summary>How many times <c>/image.png</c> was fetched.</summary>
    public int ImageFetches => Volatile.Read(ref _imageFetches);

    /// <summary>Signalled when an upstream stream observes the gateway cancelling it.</summary>
    public TaskCompletionSource StreamCancelled { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string BaseUrl { get; }

    private FakeUpstream(WebApplication app)
    {
        _app = app;
        BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public static async Task<FakeUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(TestHosts.Options);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeUpstream? fake = null;
        app.MapPost("/openai/v1/chat/completions", (HttpContext http) => Strict(http, () => fake!.HandleOpenAIAsync(http, "openai")));
        app.MapPost("/mistral/v1/chat/completions", (HttpContext http) => Strict(http, () => fake!.HandleOpenAIAsync(http, "mistral")));
        app.MapPost("/azure/openai/deployments/{deployment}/chat/completions", (HttpContext http) => Strict(http, () => fake!.HandleOpenAIAsync(http, "azure")));
        app.MapPost("/openai/v1/embeddings", (HttpContext http) => Strict(http, () => fake!.HandleOpenAIEmbeddingsAsync(http)));
        app.MapPost("/anthropic/v1/messages", (HttpContext http) => Strict(http, () => fake!.HandleAnthropicAsync(http), "anthropic"));
        app.MapPost("/gemini/v1beta/models/{**rest}", (HttpContext http) => Strict(http, () => fake!.HandleGeminiAsync(http), "gemini"));
        app.Map("/echo/{**rest}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            return Results.Json(new { path = http.Request.Path.Value, authorization = http.Request.Headers.Authorization.ToString(), body });
        });
        app.MapGet("/image.png", () =>
        {
            Interlocked.Increment(ref fake!._imageFetches);
            return Results.Bytes([0x89, 0x50, 0x4E, 0x47], "image/png");
        });

        // Announces 100 bytes, sends 10 and drops the connection.
        app.MapGet("/truncated-image.png", async (HttpContext http) =>
        {
            http.Response.ContentType = "image/png";
            http.Response.ContentLength = 100;
            await http.Response.Body.WriteAsync(new byte[10]);
            await http.Response.Body.FlushAsync();
            http.Abort();
        });

        // Sends its headers and one byte, then nothing until the caller gives up.
        app.MapGet("/trickling-image.png", async (HttpContext http) =>
        {
            http.Response.ContentType = "image/png";
            await http.Response.Body.WriteAsync(new byte[1]);
            await http.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { });
        });
        await app.StartAsync();
        fake = new FakeUpstream(app);
        return fake;
    }

    public void Enqueue(FakeFault fault)
    {
        lock (_faults)
        {
            _faults.Add(fault);
        }
    }

    public void ResetObservations()
    {
        Calls.Clear();
        StreamCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public FakeCall LastCall(string provider) => Calls.Last(c => c.Provider == provider);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    // ---- Shared conversation semantics ----------------------------------------------------------

    private sealed record Plan(string? Text, List<(string Id, string Name, string Args)> ToolCalls);

    private static Plan MakePlan(string provider, string lastUserText, List<string>? toolResults, List<string> tools, FakeFault? fault)
    {
        if (fault?.Text is { } text)
        {
            return new Plan(text, []);
        }

        if (toolResults is not null)
        {
            return new Plan($"Results: {string.Join(", ", toolResults)}", []);
        }

        if (tools.Count > 0)
        {
            var cities = new[] { "Paris", "Berlin" };
            var calls = tools.Take(2).Select((name, i) => (Id: $"call{i}{Guid.NewGuid().ToString("N")[..4]}", name, Args: $"{{\"city\":\"{cities[i]}\"}}")).ToList();
            return new Plan(null, calls);
        }

        return new Plan($"Hello from {provider}: {lastUserText}", []);
    }

    private bool TryTakeFault(string provider, out FakeFault? fault)
    {
        lock (_faults)
        {
            var index = _faults.FindIndex(f => f.Provider is null || f.Provider == provider);
            fault = index >= 0 ? _faults[index] : null;
            if (index >= 0)
            {
                _faults.RemoveAt(index);
            }

            return fault is not null;
        }
    }

    private static async Task<JsonNode?> ReadJsonAsync(HttpContext http)
    {
        try
        {
            return await JsonNode.ParseAsync(http.Request.Body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A body the fake cannot read (wrong types, missing fields) is a 400, as the real APIs answer it.</summary>
    private static async Task Strict(HttpContext http, Func<Task> handle, string protocol = "openai")
    {
        try
        {
            await handle();
        }
        catch (Exception ex) when (!http.Response.HasStarted && ex is InvalidOperationException or NullReferenceException or JsonException or FormatException or KeyNotFoundException or ArgumentException or IndexOutOfRangeException)
        {
            var message = "Invalid request: " + ex.Message;
            await WriteJsonAsync(http, 400, (protocol switch
            {
                "anthropic" => new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = "invalid_request_error", ["message"] = message } },
                "gemini" => new JsonObject { ["error"] = new JsonObject { ["code"] = 400, ["message"] = message, ["status"] = "INVALID_ARGUMENT" } },
                _ => new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "invalid_request_error" } },
            }).ToJsonString());
        }
    }

    private static Task WriteJsonAsync(HttpContext http, int status, string json)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(json);
    }

    private async Task<bool> ApplyFaultAsync(HttpContext http, FakeFault? fault)
    {
        if (fault?.AfterCallTo is { } other)
        {
            await WaitForCallsAsync(calls => calls.Any(c => c.Provider == other), $"No call to {other} arrived.");
        }

        if (fault is { HeaderDelay.Ticks: > 0 } or { HoldUntil: not null })
        {
            fault.Holding.TrySetResult();
            try
            {
                await (fault.HoldUntil ?? Task.Delay(fault.HeaderDelay)).WaitAsync(http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The gateway gave up on this call (a time limit, or a race lost): observable by tests.
                StreamCancelled.TrySetResult();
                return true;
            }
        }

        if (fault is null || fault.Status == 0)
        {
            return false;
        }

        foreach (var (name, value) in fault.Headers)
        {
            http.Response.Headers[name] = value;
        }

        await WriteJsonAsync(http, fault.Status, fault.Body ?? "{}");
        return true;
    }

    private async Task StreamAsync(HttpContext http, IEnumerable<string> events, FakeFault? fault)
    {
        http.Response.ContentType = "text/event-stream";
        var count = 0;
        try
        {
            foreach (var e in events)
            {
                if (fault?.BreakAfterEvents is { } limit && count == limit)
                {
                    // Let the flushed events reach the gateway before the connection is torn down.
                    await http.Response.Body.FlushAsync();
                    await Task.Delay(100);
                    http.Abort();
                    return;
                }

                await http.Response.WriteAsync(e, http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
                count++;
                if (fault is { EventDelay.Ticks: > 0 } && count >= fault.DelayAfterEvents)
                {
                    fault.Holding.TrySetResult();
                    await Task.Delay(fault.EventDelay, http.RequestAborted);
                }
            }
        }
        catch (OperationCanceledException)
        {
            StreamCancelled.TrySetResult();
        }
    }

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
        var inputs = body!["input"] is JsonArray array ? array.Count : 1;
        var data = new JsonArray(Enumerable.Range(0, inputs).Select(i => (JsonNode)new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = new JsonArray(0.5, -0.25, i) }).ToArray());
        await WriteJsonAsync(http, 200, new JsonObject { ["object"] = "list", ["data"] = data, ["model"] = body["model"]!.GetValue<string>(), ["usage"] = new JsonObject { ["prompt_tokens"] = 2, ["total_tokens"] = 2 } }.ToJsonString());
    }

    // ---- Anthropic ------------------------------------------------------------------------------

    private static readonly HashSet<string> AnthropicFields =
    [
        "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "thinking", "service_tier", "container", "mcp_servers", "output_config", "context_management", "inference_geo",
    ];

    private async Task HandleAnthropicAsync(HttpContext http)
    {
        var body = await ReadJsonAsync(http);
        Record(new FakeCall("anthropic", http.Request.Path, "", new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body ?? new JsonObject()));
        static string Error(string message, string type = "invalid_request_error") =>
            new JsonObject { ["type"] = "error", ["error"] = new JsonObject { ["type"] = type, ["message"] = message }, ["request_id"] = "req_fake" }.ToJsonString();

        if (http.Request.Headers["x-api-key"] != AnthropicKey)
        {
            await WriteJsonAsync(http, 401, Error("invalid x-api-key", "authentication_error"));
            return;
        }

        if (string.IsNullOrEmpty(http.Request.Headers["anthropic-version"]))
        {
            await WriteJsonAsync(http, 400, Error("anthropic-version: header is required"));
            return;
        }

        if (body is not JsonObject request)
        {
            await WriteJsonAsync(http, 400, Error("There was an issue with your request body: invalid JSON"));
            return;
        }

        var problem = ValidateAnthropic(request);
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
    private static string? ValidateAnthropic(JsonObject request)
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

    // ---- Gemini ---------------------------------------------------------------------------------

    private async Task HandleGeminiAsync(HttpContext http)
    {
        var body = await ReadJsonAsync(http);
        Record(new FakeCall("gemini", http.Request.Path, http.Request.QueryString.Value ?? "", new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body ?? new JsonObject()));
        static string Error(int code, string message, string status) =>
            new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message, ["status"] = status } }.ToJsonString();

        if (http.Request.Headers["x-goog-api-key"] != GeminiKey)
        {
            await WriteJsonAsync(http, 400, Error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"));
            return;
        }

        var path = http.Request.Path.Value!;
        var colon = path.LastIndexOf(':');
        var model = path[(path.IndexOf("/models/", StringComparison.Ordinal) + 8)..colon];
        var method = path[(colon + 1)..];
        if (method == "batchEmbedContents" && body is JsonObject embed)
        {
            var requests = embed["requests"]!.AsArray();
            if (requests.Any(r => r!["model"]!.GetValue<string>() != "models/" + model || r["content"]!["parts"]![0]!["text"] is null))
            {
                await WriteJsonAsync(http, 400, Error(400, "* BatchEmbedContentsRequest.requests: model and content are required.", "INVALID_ARGUMENT"));
                return;
            }

            var embeddings = new JsonArray(requests.Select((r, i) => (JsonNode)new JsonObject { ["values"] = new JsonArray(0.25, -1.5, i) }).ToArray());
            await WriteJsonAsync(http, 200, new JsonObject { ["embeddings"] = embeddings }.ToJsonString());
            return;
        }

        var stream = method == "streamGenerateContent";
        if (method is not ("generateContent" or "streamGenerateContent") || stream && http.Request.Query["alt"] != "sse" || body is not JsonObject request)
        {
            await WriteJsonAsync(http, 400, Error(400, "Invalid request.", "INVALID_ARGUMENT"));
            return;
        }

        var contents = request["contents"]!.AsArray();
        foreach (var content in contents)
        {
            var parts = content!["parts"]?.AsArray();
            if (parts is null || parts.Count == 0 || parts.Any(p => p!["text"] is JsonValue t && t.GetValue<string>().Length == 0))
            {
                await WriteJsonAsync(http, 400, Error(400, "* GenerateContentRequest.contents: contents.parts must not be empty.", "INVALID_ARGUMENT"));
                return;
            }

            foreach (var part in parts)
            {
                if (part!["functionCall"] is not null && (part["thoughtSignature"]?.GetValue<string>() is not { } signature || !_issuedSignatures.ContainsKey(signature)))
                {
                    await WriteJsonAsync(http, 400, Error(400, "Function call is missing a thought_signature in functionCall parts.", "INVALID_ARGUMENT"));
                    return;
                }
            }
        }

        var parameters = request["tools"]?[0]?["functionDeclarations"]?.AsArray().Select(f => f!["parameters"]).Where(p => p is not null);
        if (parameters?.Any(p => p!.ToJsonString().Contains("additionalProperties") || p.ToJsonString().Contains("\"$schema\"")) == true)
        {
            await WriteJsonAsync(http, 400, Error(400, "Invalid JSON payload received. Unknown name \"additionalProperties\".", "INVALID_ARGUMENT"));
            return;
        }

        TryTakeFault("gemini", out var fault);
        if (await ApplyFaultAsync(http, fault))
        {
            return;
        }

        var lastParts = contents[^1]!["parts"]!.AsArray();
        var results = lastParts.Where(p => p!["functionResponse"] is not null).Select(p => p!["functionResponse"]!["response"]!["result"]?.GetValue<string>() ?? "").ToList();
        var userText = string.Concat(lastParts.Where(p => p!["text"] is not null).Select(p => p!["text"]!.GetValue<string>()));
        var tools = request["tools"]?[0]?["functionDeclarations"]?.AsArray().Select(f => f!["name"]!.GetValue<string>()).ToList() ?? [];
        var plan = MakePlan("gemini", userText, results.Count > 0 ? results : null, tools, fault);
        var callParts = plan.ToolCalls.Select(c =>
        {
            var signature = "c2ln" + Guid.NewGuid().ToString("N")[..8] + "==";
            _issuedSignatures[signature] = true;
            return (JsonNode)new JsonObject { ["functionCall"] = new JsonObject { ["name"] = c.Name, ["args"] = JsonNode.Parse(c.Args) }, ["thoughtSignature"] = signature };
        }).ToArray();
        var usage = new JsonObject { ["promptTokenCount"] = 10, ["candidatesTokenCount"] = 5, ["thoughtsTokenCount"] = 2, ["totalTokenCount"] = 17 };
        JsonObject Response(JsonArray parts, string? finish, JsonObject? usageMetadata) => new()
        {
            ["candidates"] = new JsonArray(new JsonObject { ["content"] = new JsonObject { ["role"] = "model", ["parts"] = parts }, ["finishReason"] = finish, ["index"] = 0 }),
            ["usageMetadata"] = usageMetadata ?? new JsonObject { ["trafficType"] = "ON_DEMAND" },
            ["modelVersion"] = model,
            ["responseId"] = "resp-fake1",
        };

        if (!stream)
        {
            var parts = new JsonArray();
            if (plan.Text is { } text)
            {
                parts.Add(new JsonObject { ["text"] = text });
            }

            foreach (var part in callParts)
            {
                parts.Add(part);
            }

            await WriteJsonAsync(http, 200, Response(parts, "STOP", usage).ToJsonString());
            return;
        }

        var events = new List<string>();
        if (plan.Text is { } reply)
        {
            var half = reply.Length / 2;
            events.Add("data: " + Response(new JsonArray(new JsonObject { ["text"] = reply[..half] }), null, null).ToJsonString() + "\r\n\r\n");
            events.Add("data: " + Response(new JsonArray(new JsonObject { ["text"] = reply[half..] }), null, null).ToJsonString() + "\r\n\r\n");
        }

        if (callParts.Length > 0)
        {
            events.Add("data: " + Response(new JsonArray(callParts), null, null).ToJsonString() + "\r\n\r\n");
        }

        // Newer models send STOP in a chunk of its own, after the function calls.
        events.Add("data: " + Response(new JsonArray(new JsonObject { ["text"] = "" }), "STOP", usage).ToJsonString() + "\r\n\r\n");
        await StreamAsync(http, events, fault);
    }
}
