using System.ClientModel;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Hooks, the per-request context, models, embeddings, credentials, prefixes and configuration.</summary>
public sealed class GatewayFeatureTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    /// <summary>An enterprise policy: EU tenants may not use the Gemini deployment, and every system prompt gets a suffix.</summary>
    private sealed class PolicyHook : LlmGatewayHook
    {
        public override ValueTask OnRequestAsync(LlmRequestContext context, CancellationToken cancellationToken)
        {
            if (context.HttpContext.Request.Headers["x-tenant-region"] == "eu" && context.ProviderName == "gemini")
            {
                throw new LlmGatewayException(new LlmError(LlmErrorKind.Permission, "EU tenants may not use this provider."));
            }

            context.Request.System.Add(new LlmTextPart("Policy: be polite."));
            return ValueTask.CompletedTask;
        }
    }

    private sealed class FaultyHook : LlmGatewayHook
    {
        public override ValueTask OnRequestAsync(LlmRequestContext context, CancellationToken cancellationToken) => throw new InvalidOperationException("bug in a hook");
    }

    [Fact]
    public async Task AFailingHookIsA500InCallersProtocolNotACrash()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddHook<FaultyHook>());

        using var response = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/messages", new StringContent(
            """{"model":"gpt","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("api_error", json.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.DoesNotContain("bug in a hook", json.RootElement.GetRawText());
    }

    [Fact]
    public async Task CompletionHookSeesUsageTimingsAndRoute()
    {
        var hook = new RecordingHook();
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddHook(hook));
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/v1") }).GetChatClient("claude");

        await foreach (var _ in client.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
        }

        var context = Assert.Single(hook.Completed);
        Assert.Equal(LlmOperationNames.Chat, context.OperationName);
        Assert.Equal(LlmProtocol.OpenAIChat, context.InboundProtocol);
        Assert.Equal("claude", context.RequestedModel);
        Assert.Equal("anthropic", context.ProviderName);
        Assert.Equal("claude-sonnet-4-5", context.UpstreamModel);
        Assert.Equal(LlmProtocol.AnthropicMessages, context.ProviderProtocol);
        Assert.False(context.IsPassthrough);
        Assert.Equal(200, context.UpstreamStatusCode);
        Assert.Equal(11, context.Usage.InputTokens);
        Assert.Equal(3, context.Usage.CachedInputTokens);
        Assert.Equal(7, context.Usage.OutputTokens);
        Assert.Equal(LlmFinishReason.Stop, context.FinishReason);
        Assert.NotNull(context.TimeToFirstToken);
        Assert.NotNull(context.Duration);
        Assert.True(context.Duration >= context.TimeToFirstToken);
        Assert.Null(context.Error);

        var embeddings = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/v1") }).GetEmbeddingClient("openai/text-embedding-3-small");
        await embeddings.GenerateEmbeddingAsync("x");
        var embedding = hook.Completed.Last();
        Assert.Equal(LlmOperationNames.Embeddings, embedding.OperationName);
        Assert.Equal("text-embedding-3-small", embedding.UpstreamModel);
        Assert.Equal(2, embedding.Usage.InputTokens);
    }

    [Fact]
    public async Task RequestHookCanVetoInCallersProtocolAndEditRequests()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddHook<PolicyHook>());
        var calls = fixture.Upstream.Calls.Count;

        using var vetoed = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/messages")
        {
            Content = new StringContent("""{"model":"gem","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            Headers = { { "x-tenant-region", "eu" } },
        };
        using var response = await fixture.Http.SendAsync(vetoed);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("permission_error", json.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(calls, fixture.Upstream.Calls.Count);

        // Same protocol both sides, but the hook edits requests: the edit must reach the provider.
        using var edited = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", new StringContent(
            """{"model":"gpt","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        Assert.Contains("Policy: be polite.", fixture.Upstream.LastCall("openai").Body.ToJsonString());
    }

    [Fact]
    public async Task CallerCredentialsNeverReachProvidersAndKeysNeverReachCallers()
    {
        foreach (var (path, body) in new[]
        {
            ("/v1/chat/completions", """{"model":"claude","messages":[{"role":"user","content":"hi"}]}"""),
            ("/v1/messages", """{"model":"gpt","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""),
            ("/v1/messages", """{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, fixture.Gateway.BaseUrl + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("Authorization", "Bearer caller-secret");
            request.Headers.Add("x-api-key", "caller-secret");
            using var response = await fixture.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            foreach (var key in new[] { FakeUpstream.OpenAIKey, FakeUpstream.AnthropicKey })
            {
                Assert.DoesNotContain(key, text);
                Assert.DoesNotContain(key, response.Headers.ToString());
            }
        }

        Assert.All(fixture.Upstream.Calls, c => Assert.DoesNotContain("caller-secret", string.Join(";", c.Headers.Select(h => h.Value.ToString()))));
    }

    [Fact]
    public async Task ProviderKeysNeverReachTheLogs()
    {
        using var logs = new FakeLoggerProvider();
        await using var gateway = await GatewayHost.StartAsync(
            fixture.Upstream,
            b =>
            {
                b.Logging.AddProvider(logs);
                b.Logging.SetMinimumLevel(LogLevel.Trace);
            },
            settings: new Dictionary<string, string?> { ["LlmGateway:Providers:gemini:BaseUrl"] = "http://127.0.0.1:1" });

        foreach (var model in new[] { "gpt", "claude", "gem", "azure-gpt" })
        {
            using var response = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", new StringContent(
                $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        }

        var lines = logs.Collector.GetSnapshot().Select(r => $"{r.Category} {r.Message} {r.Exception}").ToList();
        Assert.Contains(lines, l => l.Contains("Could not reach LLM provider gemini"));
        Assert.True(lines.Any(l => l.Contains("ended: upstream status 200")), string.Join("\n", lines));
        foreach (var key in new[] { FakeUpstream.OpenAIKey, FakeUpstream.AnthropicKey, FakeUpstream.GeminiKey, FakeUpstream.AzureKey })
        {
            Assert.DoesNotContain(lines, l => l.Contains(key));
        }
    }

    [Fact]
    public async Task ModelsListsAliasesInBothShapes()
    {
        using var openai = JsonDocument.Parse(await fixture.Http.GetStringAsync(fixture.Gateway.BaseUrl + "/v1/models"));
        Assert.Equal("list", openai.RootElement.GetProperty("object").GetString());
        var ids = openai.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("gpt", ids);
        Assert.Contains("claude", ids);

        using var request = new HttpRequestMessage(HttpMethod.Get, fixture.Gateway.BaseUrl + "/v1/models") { Headers = { { "anthropic-version", "2023-06-01" } } };
        using var response = await fixture.Http.SendAsync(request);
        using var anthropic = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("model", anthropic.RootElement.GetProperty("data")[0].GetProperty("type").GetString());
        Assert.False(anthropic.RootElement.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public async Task EmbeddingsThroughTheOfficialSdk()
    {
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Gateway.BaseUrl + "/v1") }).GetEmbeddingClient("openai/text-embedding-3-small");

        OpenAIEmbeddingCollection embeddings = await client.GenerateEmbeddingsAsync(["a", "b"]);

        Assert.Equal(2, embeddings.Count);
        Assert.Equal([0.5f, -0.25f, 1f], embeddings[1].ToFloats().ToArray());
        Assert.Equal("text-embedding-3-small", fixture.Upstream.LastCall("openai").Body["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task GeminiEmbeddingsAreTranslatedToOpenAIShapeInBothEncodings()
    {
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Gateway.BaseUrl + "/v1") }).GetEmbeddingClient("gemini/text-embedding-004");

        // The SDK asks for base64 by default.
        OpenAIEmbeddingCollection embeddings = await client.GenerateEmbeddingsAsync(["first", "second"]);
        using var floats = JsonDocument.Parse(await (await fixture.Http.PostAsync(fixture.Gateway.BaseUrl + "/v1/embeddings", new StringContent(
            """{"model":"gemini/text-embedding-004","input":"one","encoding_format":"float"}""", Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync());

        Assert.Equal([0.25f, -1.5f, 1f], embeddings[1].ToFloats().ToArray());
        Assert.Equal(2, embeddings.Usage.InputTokenCount); // counted by the gateway: Gemini reports none
        Assert.Equal("second", fixture.Upstream.Calls.Last(c => c.Provider == "gemini" && c.Path.EndsWith(":batchEmbedContents", StringComparison.Ordinal) && c.Body.ToJsonString().Contains("second")).Body["requests"]![1]!["content"]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(-1.5, floats.RootElement.GetProperty("data")[0].GetProperty("embedding")[1].GetDouble());
        Assert.Equal("list", floats.RootElement.GetProperty("object").GetString());
    }

    [Fact]
    public async Task EmbeddingsFromAProviderWithoutThemIsAClearError()
    {
        using var response = await fixture.Http.PostAsync(fixture.Gateway.BaseUrl + "/v1/embeddings", new StringContent(
            """{"model":"anthropic/claude-sonnet-4-5","input":"x"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("no embeddings API", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SimulatedProviderAnswersWithoutKeysAndSaysSo()
    {
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Gateway.BaseUrl + "/v1") });

        ChatCompletion completion = await client.GetChatClient("simulated/echo").CompleteChatAsync([new UserChatMessage("ping")]);
        OpenAIEmbedding embedding = await client.GetEmbeddingClient("simulated/embed").GenerateEmbeddingAsync("ping");

        Assert.StartsWith("[simulated]", completion.Content[0].Text);
        Assert.Contains("ping", completion.Content[0].Text);
        Assert.Equal(256, embedding.ToFloats().Length);
    }

    [Fact]
    public async Task GatewayMountsUnderAPrefix()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, configureApp: app => app.MapLlmGateway("/llm"));
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/llm/v1") }).GetChatClient("gpt");

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("prefixed")]);

        Assert.Equal("Hello from openai: prefixed", completion.Content[0].Text);
        using var unprefixed = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, unprefixed.StatusCode);
    }

    [Fact]
    public async Task InvalidConfigurationStopsStartupWithEveryProblemListed()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?>
        {
            ["LlmGateway:Providers:weird:Type"] = "carrier-pigeon",
            ["LlmGateway:Providers:bad-url:Type"] = "openai",
            ["LlmGateway:Providers:bad-url:BaseUrl"] = "not a url",
            ["LlmGateway:Models:broken:Provider"] = "nowhere",
            ["LlmGateway:Models:broken:Model"] = "x",
            ["LlmGateway:Metering:FlushInterval"] = "00:00:00",
            ["LlmGateway:Metering:BatchSize"] = "0",
        }));

        Assert.Contains("unknown Type 'carrier-pigeon'", ex.Message);
        Assert.Contains("LlmGateway:Metering: The field FlushInterval", ex.Message);
        Assert.Contains("LlmGateway:Metering: The field BatchSize", ex.Message);
        Assert.Contains("BaseUrl 'not a url'", ex.Message);
        Assert.Contains("unknown Provider 'nowhere'", ex.Message);
    }

    [Fact]
    public async Task BuiltInProvidersReadTheUsualEnvironmentVariables()
    {
        // Environment variables reach ASP.NET Core configuration under their own names; set them the same way here.
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?>
        {
            ["LlmGateway:UseEnvironmentVariables"] = "true",
            ["LlmGateway:Providers:anthropic:BaseUrl"] = null,
            ["LlmGateway:Providers:anthropic:ApiKey"] = null,
            ["ANTHROPIC_BASE_URL"] = fixture.Upstream.BaseUrl + "/anthropic",
            ["ANTHROPIC_API_KEY"] = FakeUpstream.AnthropicKey,
        });
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/v1") }).GetChatClient("anthropic/claude-opus-4-1");

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("from env")]);

        Assert.Equal("Hello from anthropic: from env", completion.Content[0].Text);
        Assert.Equal("claude-opus-4-1", fixture.Upstream.LastCall("anthropic").Body["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task ProvidersAndModelsCanBeConfiguredInCode()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway()
            .AddProvider("my-anthropic", p =>
            {
                p.Type = "anthropic";
                p.BaseUrl = fixture.Upstream.BaseUrl + "/anthropic";
                p.ApiKey = FakeUpstream.AnthropicKey;
            })
            .AddModel("house-model", "my-anthropic", "claude-haiku-4-5"));
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/v1") }).GetChatClient("house-model");

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("code")]);

        Assert.Equal("Hello from anthropic: code", completion.Content[0].Text);
        Assert.Equal("claude-haiku-4-5", fixture.Upstream.LastCall("anthropic").Body["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task PassthroughForwardsCallerBytesWithOnlyTheModelRewritten()
    {
        const string body = """{"model":"gpt","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"metadata":{"a":"b"}}""";
        using var response = await fixture.Http.PostAsync(fixture.Gateway.BaseUrl + "/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Replace("\"gpt\"", "\"gpt-4o-mini\""), fixture.Upstream.LastCall("openai").Body.ToJsonString());
        Assert.Equal("openai", response.Headers.GetValues("x-llm-provider").Single());
        Assert.Equal("gpt-4o-mini", response.Headers.GetValues("x-llm-model").Single());
        Assert.Equal("1", response.Headers.GetValues("x-llm-attempts").Single());
        Assert.False(response.Headers.Contains("x-llm-deployment"));
    }

    [Fact]
    public async Task RouteAndCostHeadersCanBeTurnedOff()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?> { ["LlmGateway:EmitRouteHeaders"] = "false", ["LlmGateway:Metering:EmitCostHeaders"] = "false" });

        using var response = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", new StringContent(
            """{"model":"claude","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("x-llm-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task ImageUrlsAreInlinedForGeminiButNeverFetchedFromPrivateAddressesByDefault()
    {
        var body = $$$"""{"model":"gem","messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"{{{fixture.Upstream.BaseUrl}}}/image.png"}}]}]}""";

        using var refused = await fixture.Http.PostAsync(fixture.Gateway.BaseUrl + "/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("could not be fetched.", await refused.Content.ReadAsStringAsync());

        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?> { ["LlmGateway:AllowPrivateImageHosts"] = "true" });
        using var inlined = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, inlined.StatusCode);
        var part = fixture.Upstream.LastCall("gemini").Body["contents"]![0]!["parts"]![1]!["inlineData"]!;
        Assert.Equal("image/png", part["mimeType"]!.GetValue<string>());
        Assert.Equal(Convert.ToBase64String([0x89, 0x50, 0x4E, 0x47]), part["data"]!.GetValue<string>());
    }
}
