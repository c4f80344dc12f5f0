using System.Net;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Bad client input gets a clear 4xx in the caller's own protocol and never reaches a provider.</summary>
public sealed class MalformedInputTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string, string, int, string> OpenAICases => new()
    {
        { "{not json", "", 400, "not valid JSON" },
        { "[1,2]", "", 400, "must be a JSON object" },
        { """{"messages":[{"role":"user","content":"hi"}]}""", "model", 400, "'model' is required" },
        { """{"model":42,"messages":[]}""", "model", 400, "'model' must be a string" },
        { """{"model":"gpt","messages":"hi"}""", "messages", 400, "'messages' must be an array" },
        { """{"model":"gpt","messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role", 400, "must be one of" },
        { """{"model":"gpt","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature", 400, "must be a number" },
        { """{"model":"gpt","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream", 400, "must be a boolean" },
        { """{"model":"gpt","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{"a":1}}}]},{"role":"user","content":"x"}]}""", "messages[0].tool_calls[0].function.arguments", 400, "JSON-encoded string" },
        { """{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}""", "model", 404, "does not exist" },
        { """{"model":"nope/x","messages":[{"role":"user","content":"hi"}]}""", "model", 404, "does not exist" },
        { """{"model":"gpt","messages":[1,"two"]}""", "messages[0]", 400, "must be an object" },
        { """{"model":"claude","n":2,"messages":[{"role":"user","content":"hi"}]}""", "n", 400, "'n' greater than 1" },
        { """{"model":"gem","n":3,"messages":[{"role":"user","content":"hi"}]}""", "n", 400, "'n' greater than 1" },
        { """{"model":"gpt","messages":[{"role":"user","content":"hi"}],"tools":[1]}""", "tools[0]", 400, "must be a function tool" },
        { """{"model":"gpt","messages":[{"role":"assistant","tool_calls":[7]},{"role":"user","content":"x"}]}""", "messages[0].tool_calls[0].id", 400, "is required" },
        { """{"model":"gpt","messages":[{"role":"user","content":[{"type":"image_url","image_url":"not-an-object"}]}]}""", "messages[0].content[0].image_url.url", 400, "is required" },
        { """{"model":"claude","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA=","format":"wav"}}]}]}""", "", 400, "Content of type 'input_audio' from an OpenAI request cannot be sent" },
    };

    public static TheoryData<string, int, string> AnthropicCases => new()
    {
        { "{not json", 400, "not valid JSON" },
        { """{"model":"claude","messages":[{"role":"user","content":"hi"}]}""", 400, "max_tokens: Field required" },
        { """{"model":"claude","max_tokens":"many","messages":[{"role":"user","content":"hi"}]}""", 400, "must be an integer" },
        { """{"model":"claude","max_tokens":10,"messages":[{"role":"robot","content":"hi"}]}""", 400, "Input should be 'user', 'assistant' or 'system'" },
        { """{"model":"gpt","max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]}""", 400, "Content of type 'document' from an Anthropic request cannot be sent" },
        { """{"model":"gem","max_tokens":10,"messages":[{"role":"user","content":"q"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}""", 400, "Tool 'web_search'" },
        { """{"model":"claude","max_tokens":10,"temperature":1.5,"messages":[{"role":"user","content":"hi"}]}""", 400, "temperature" },
        { """{"model":"unknown-model","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", 404, "does not exist" },
        { """{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":[7]}]}""", 400, "Field required" },
        { """{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[3]}""", 400, "Field required" },
        { """{"model":"claude","max_tokens":10,"system":{"nested":true},"messages":[{"role":"user","content":"hi"}]}""", 400, "system" },
    };

    [Theory]
    [MemberData(nameof(OpenAICases))]
    public async Task OpenAISurfaceAnswersInOpenAIShape(string body, string param, int status, string message)
    {
        var calls = fixture.Upstream.Calls.Count;
        using var response = await fixture.Http.PostAsync(fixture.Gateway.BaseUrl + "/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (param.Length > 0)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        Assert.Equal(calls, fixture.Upstream.Calls.Count);
    }

    [Theory]
    [MemberData(nameof(AnthropicCases))]
    public async Task AnthropicSurfaceAnswersInAnthropicShape(string body, int status, string message)
    {
        var calls = fixture.Upstream.Calls.Count;
        using var response = await fixture.Http.PostAsync(fixture.Gateway.BaseUrl + "/v1/messages", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("error", json.RootElement.GetProperty("type").GetString());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(status == 404 ? "not_found_error" : "invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Equal(calls, fixture.Upstream.Calls.Count);
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/messages")]
    [InlineData("/v1/messages/count_tokens")]
    public async Task HugeBodyIs413InCallersProtocol(string path)
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?> { ["LlmGateway:MaxRequestBodyBytes"] = "1024" });
        var big = new string('x', 4096);
        var body = $$"""{"model":"gpt","max_tokens":5,"messages":[{"role":"user","content":"{{big}}"}]}""";

        using var response = await fixture.Http.PostAsync(gateway.BaseUrl + path, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        if (path.StartsWith("/v1/messages", StringComparison.Ordinal))
        {
            Assert.Equal("request_too_large", json.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        else
        {
            Assert.Contains("exceeds", json.RootElement.GetProperty("error").GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task TheGatewayLimitRatherThanKestrelsDefaultGovernsBodySize()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?> { ["LlmGateway:MaxRequestBodyBytes"] = (40 * 1024 * 1024).ToString() });
        var body = $$"""{"model":"gpt","messages":[{"role":"user","content":"{{new string('z', 31 * 1024 * 1024)}}"}]}""";

        using var response = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ChunkedHugeBodyWithoutContentLengthIs413()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?> { ["LlmGateway:MaxRequestBodyBytes"] = "1024" });
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($$"""{"model":"gpt","messages":[{"role":"user","content":"{{new string('y', 50_000)}}"}]}""")));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await fixture.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    /// <summary>vLLM and Ollama need no key and live on this host's own ports: until the operator enables them, a
    /// caller naming them gets a 404 in its protocol, never a connection from the gateway to localhost.</summary>
    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"vllm/x","messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("/v1/chat/completions", """{"model":"OLLAMA/x","messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("/v1/embeddings", """{"model":"vllm/x","input":"hi"}""")]
    [InlineData("/v1/messages", """{"model":"ollama/x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""")]
    public async Task LocalProvidersAreOffUntilConfigured(string path, string body)
    {
        using var response = await fixture.Http.PostAsync(fixture.Gateway.BaseUrl + path, new StringContent(body, Encoding.UTF8, "application/json"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("does not exist", json.RootElement.GetProperty("error").GetProperty("message").GetString());

        // Enabled by a provider entry (or a route, a group deployment, VLLM_BASE_URL): then it is used.
        await using var enabled = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?>
        {
            ["LlmGateway:Providers:vllm:BaseUrl"] = fixture.Upstream.BaseUrl + "/openai/v1",
            ["LlmGateway:Providers:vllm:ApiKey"] = FakeUpstream.OpenAIKey,
            ["LlmGateway:Providers:ollama:BaseUrl"] = fixture.Upstream.BaseUrl + "/openai/v1",
            ["LlmGateway:Providers:ollama:ApiKey"] = FakeUpstream.OpenAIKey,
        });
        using var served = await fixture.Http.PostAsync(enabled.BaseUrl + path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task ProviderWithoutKeyIsAClearConfigurationError()
    {
        using var response = await fixture.Http.PostAsync(fixture.Gateway.BaseUrl + "/v1/chat/completions", new StringContent(
            """{"model":"groq/llama-3.1-8b-instant","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("GROQ_API_KEY", text);
    }
}
