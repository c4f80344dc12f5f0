using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Upstream errors, broken streams and client disconnects, seen from both protocols.</summary>
public sealed class FailureTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const string AnthropicOverloaded = """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""";
    private const string OpenAIRateLimited = """{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";

    private Task<HttpResponseMessage> PostOpenAIAsync(string model, bool stream = false) =>
        fixture.Http.PostAsync(fixture.Gateway.BaseUrl + "/v1/chat/completions", new StringContent(
            $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

    private Task<HttpResponseMessage> PostAnthropicAsync(string model, bool stream = false) =>
        fixture.Http.PostAsync(fixture.Gateway.BaseUrl + "/v1/messages", new StringContent(
            $$"""{"model":"{{model}}","max_tokens":64,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

    [Fact]
    public async Task AnthropicOverloadedBecomes503ForOpenAICallers()
    {
        fixture.Upstream.Enqueue(new FakeFault { Status = 529, Body = AnthropicOverloaded, Headers = { ["retry-after"] = "7" } });

        using var response = await PostOpenAIAsync("claude");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("7", response.Headers.GetValues("retry-after").Single());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Overloaded", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("server_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task OpenAIRateLimitIsAnthropicRateLimitErrorWithRetryAfter()
    {
        fixture.Upstream.Enqueue(new FakeFault { Status = 429, Body = OpenAIRateLimited, Headers = { ["retry-after"] = "3", ["x-should-retry"] = "false" } });

        using var response = await PostAnthropicAsync("gpt");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("3", response.Headers.GetValues("retry-after").Single());
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
        Assert.Equal("rate_limit_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Upstream503BecomesAnthropic529Overloaded()
    {
        fixture.Upstream.Enqueue(new FakeFault { Status = 503, Body = """{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}""" });

        using var response = await PostAnthropicAsync("gem");

        Assert.Equal(529, (int)response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("overloaded_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("The model is overloaded.", body.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task AnthropicSdkSeesTranslatedRateLimitException()
    {
        fixture.Upstream.Enqueue(new FakeFault { Status = 429, Body = OpenAIRateLimited });
        var client = new AnthropicClient { ApiKey = "k", BaseUrl = fixture.Gateway.BaseUrl, MaxRetries = 0 };

        await Assert.ThrowsAsync<AnthropicRateLimitException>(() => client.Messages.Create(new MessageCreateParams
        {
            Model = "gpt",
            MaxTokens = 10,
            Messages = [new UserMessageParam("hi")],
        }));
    }

    [Theory]
    [InlineData("gpt")]
    [InlineData("claude")]
    [InlineData("gem")]
    public async Task BrokenStreamEndsWithOpenAIErrorAndNoCleanFinish(string model)
    {
        fixture.Upstream.Enqueue(new FakeFault { BreakAfterEvents = 2 });
        using var request = new HttpRequestMessage(HttpMethod.Post, fixture.Gateway.BaseUrl + "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };

        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = new MemoryStream();
        var completedCleanly = true;
        try
        {
            await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            completedCleanly = false;
        }

        var body = Encoding.UTF8.GetString(received.ToArray());
        Assert.False(completedCleanly, "A broken stream must not end like a complete one.");
        Assert.Contains("\"error\":{\"message\":", body);
        Assert.DoesNotContain("[DONE]", body);
        Assert.DoesNotContain("\"finish_reason\":\"stop\"", body);
    }

    [Theory]
    [InlineData("gpt")]
    [InlineData("claude")]
    [InlineData("gem")]
    public async Task OpenAISdkFailsOnBrokenStream(string model)
    {
        fixture.Upstream.Enqueue(new FakeFault { BreakAfterEvents = 2 });
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Gateway.BaseUrl + "/v1") }).GetChatClient(model);

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in client.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
            }
        });
    }

    [Theory]
    [InlineData("gpt")]
    [InlineData("claude")]
    [InlineData("gem")]
    public async Task BrokenStreamEndsWithAnthropicErrorEvent(string model)
    {
        fixture.Upstream.Enqueue(new FakeFault { BreakAfterEvents = 2 });

        using var response = await PostAnthropicAsync(model, stream: true);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Contains("event: error", body);
        Assert.DoesNotContain("event: message_stop", body);

        fixture.Upstream.Enqueue(new FakeFault { BreakAfterEvents = 2 });
        var client = new AnthropicClient { ApiKey = "k", BaseUrl = fixture.Gateway.BaseUrl, MaxRetries = 0 };
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in client.Messages.CreateStreaming(new MessageCreateParams { Model = model, MaxTokens = 10, Messages = [new UserMessageParam("hi")] }))
            {
            }
        });
    }

    [Theory]
    [InlineData("gpt")]
    [InlineData("claude")]
    [InlineData("gem")]
    public async Task ClientDisconnectCancelsTheUpstreamStream(string model)
    {
        fixture.Upstream.ResetObservations();
        fixture.Upstream.Enqueue(new FakeFault { EventDelay = TimeSpan.FromSeconds(1) });

        // No draining on dispose: the connection must close, as a caller that goes away closes it.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 });
        using var request = new HttpRequestMessage(HttpMethod.Post, fixture.Gateway.BaseUrl + "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"a long answer please"}]}""", Encoding.UTF8, "application/json"),
        };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[256];
        Assert.True(await stream.ReadAsync(buffer) > 0, "The first token must arrive before the stream ends.");

        response.Dispose();
        client.Dispose();

        var cancelled = await Task.WhenAny(fixture.Upstream.StreamCancelled.Task, Task.Delay(TimeSpan.FromSeconds(15)));
        Assert.Same(fixture.Upstream.StreamCancelled.Task, cancelled);
    }

    [Fact]
    public async Task UpstreamTimeLimitMidStreamEndsWithAnErrorEvent()
    {
        // A dedicated upstream: a call cut by the short time limit must not leave its fault behind for another test.
        await using var upstream = await FakeUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream, settings: new Dictionary<string, string?> { ["LlmGateway:UpstreamTimeout"] = "00:00:01" });
        upstream.Enqueue(new FakeFault { EventDelay = TimeSpan.FromMilliseconds(400) });

        using var response = await PostToAsync(gateway, "/v1/messages", """{"model":"gpt","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Contains("event: message_start", body);
        Assert.Contains("event: error", body);
        Assert.Contains("timeout_error", body);
        Assert.DoesNotContain("event: message_stop", body);
    }

    private Task<HttpResponseMessage> PostToAsync(GatewayHost gateway, string path, string body) =>
        fixture.Http.PostAsync(gateway.BaseUrl + path, new StringContent(body, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task UnreachableProviderIs502InCallersProtocol()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?>
        {
            ["LlmGateway:Providers:openai:BaseUrl"] = "http://127.0.0.1:1/v1",
        });

        using var response = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/messages", new StringContent(
            """{"model":"gpt","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("api_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
    }
}
