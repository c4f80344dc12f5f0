using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>What the fake received.</summary>
public sealed record FakeCall(string Provider, string Path, string Query, IHeaderDictionary Headers, JsonNode Body);

/// <summary>
/// One loopback Kestrel server that speaks OpenAI (<c>/openai/v1</c>), Azure OpenAI (<c>/azure</c>), Mistral
/// (<c>/mistral/v1</c>), Anthropic (<c>/anthropic</c>) and Gemini (<c>/gemini</c>), each as strict as the real API
/// about what it rejects. Replies are deterministic: with tools offered and a user turn last, every tool (up to two)
/// is called in parallel; with tool results last, the results are echoed; otherwise a greeting echoes the user.
/// Its wire encoding is written independently of the gateway's codecs. One file per wire format
/// (<c>FakeUpstream.OpenAI.cs</c>, <c>.Anthropic.cs</c>, <c>.Gemini.cs</c>) and one for the fault script (<c>FakeFault.cs</c>).
/// </summary>
public sealed partial class FakeUpstream : IAsyncDisposable
{
    public const string OpenAIKey = "sk-upstream-openai";
    public const string AnthropicKey = "sk-ant-upstream";
    public const string GeminiKey = "gemini-upstream-key";
    public const string AzureKey = "azure-upstream-key";
    public const string MistralKey = "mistral-upstream-key";

    public const string DeepSeekKey = "deepseek-upstream-key";

    /// <summary>What the DeepSeek fake thinks before each answer (<c>reasoning_content</c>).</summary>
    public const string DeepSeekThought = "Let me think this over.";

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
        app.MapPost("/deepseek/chat/completions", (HttpContext http) => Strict(http, () => fake!.HandleOpenAIAsync(http, "deepseek")));
        app.MapPost("/azure/openai/deployments/{deployment}/chat/completions", (HttpContext http) => Strict(http, () => fake!.HandleOpenAIAsync(http, "azure")));
        app.MapPost("/openai/v1/responses", (HttpContext http) => Strict(http, () => fake!.HandleResponsesAsync(http, "openai")));
        app.MapPost("/azure/openai/v1/responses", (HttpContext http) => Strict(http, () => fake!.HandleResponsesAsync(http, "azure")));
        app.MapPost("/bedrock/model/{modelId}/{operation}", (HttpContext http, string modelId, string operation) => operation is "converse" or "converse-stream" or "invoke" or "invoke-with-response-stream"
            ? fake!.HandleBedrockAsync(http, modelId, operation)
            : Results.NotFound().ExecuteAsync(http));
        app.MapPost("/google/token", (HttpContext http) => fake!.HandleGoogleTokenAsync(http));
        app.MapPost("/vertex/v1/projects/{project}/locations/{location}/publishers/google/models/{**rest}", (HttpContext http) => Strict(http, () => fake!.HandleGeminiAsync(http, vertex: true), "gemini"));
        app.MapPost("/vertex/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{call}", (HttpContext http, string call) => Strict(
            http,
            () => call.EndsWith(":rawPredict", StringComparison.Ordinal) || call.EndsWith(":streamRawPredict", StringComparison.Ordinal)
                ? fake!.HandleAnthropicAsync(http, vertexModel: call[..call.IndexOf(':')])
                : Results.NotFound().ExecuteAsync(http),
            "anthropic"));
        app.MapPost("/openai/v1/embeddings", (HttpContext http) => Strict(http, () => fake!.HandleOpenAIEmbeddingsAsync(http)));
        app.MapPost("/anthropic/v1/messages", (HttpContext http) => Strict(http, () => fake!.HandleAnthropicAsync(http), "anthropic"));
        app.MapPost("/anthropic/v1/messages/count_tokens", (HttpContext http) => Strict(http, () => fake!.HandleAnthropicCountTokensAsync(http), "anthropic"));
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

}
