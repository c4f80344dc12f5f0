using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;

namespace LlmMiddleware.FunctionalTests;

/// <summary>An existing YARP edge with LLM routes beside ordinary proxied routes; YARP forwards, the gateway translates.</summary>
public sealed class YarpTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private GatewayHost _edge = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _edge = await StartEdgeAsync(ConfigDrivenRoutes(_upstream));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _edge.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static Dictionary<string, string?> ConfigDrivenRoutes(FakeUpstream upstream) => new()
    {
        // OpenAI callers → Anthropic cluster (provider named on the cluster).
        ["ReverseProxy:Routes:chat:ClusterId"] = "anthropic",
        ["ReverseProxy:Routes:chat:Match:Path"] = "/edge/v1/chat/completions",
        ["ReverseProxy:Routes:chat:Metadata:Llm.InboundProtocol"] = "openai",
        ["ReverseProxy:Clusters:anthropic:Metadata:Llm.Provider"] = "anthropic",
        ["ReverseProxy:Clusters:anthropic:Destinations:d1:Address"] = upstream.BaseUrl + "/anthropic",

        // Anthropic callers → Gemini cluster (provider named on the route).
        ["ReverseProxy:Routes:messages:ClusterId"] = "gemini",
        ["ReverseProxy:Routes:messages:Match:Path"] = "/edge/v1/messages",
        ["ReverseProxy:Routes:messages:Metadata:Llm.InboundProtocol"] = "anthropic",
        ["ReverseProxy:Routes:messages:Metadata:Llm.Provider"] = "gemini",
        ["ReverseProxy:Routes:messages:Metadata:Llm.Model"] = "gemini-2.5-flash",
        ["ReverseProxy:Clusters:gemini:Destinations:d1:Address"] = upstream.BaseUrl + "/gemini",

        // An ordinary route on the same edge.
        ["ReverseProxy:Routes:plain:ClusterId"] = "plain",
        ["ReverseProxy:Routes:plain:Match:Path"] = "/plain/{**rest}",
        ["ReverseProxy:Clusters:plain:Destinations:d1:Address"] = upstream.BaseUrl + "/echo",
    };

    private Task<GatewayHost> StartEdgeAsync(Dictionary<string, string?> settings, Action<IReverseProxyBuilder>? proxy = null) =>
        GatewayHost.StartAsync(
            _upstream,
            builder =>
            {
                var reverseProxy = builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy")).AddLlmTransforms();
                proxy?.Invoke(reverseProxy);
            },
            app => app.MapReverseProxy(),
            settings);

    [Fact]
    public async Task OpenAISdkThroughConfigDrivenRouteToAnthropic()
    {
        var client = new OpenAIClient(new ApiKeyCredential("caller-key"), new OpenAIClientOptions { Endpoint = new Uri(_edge.BaseUrl + "/edge/v1") }).GetChatClient("claude-sonnet-4-5");

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("via yarp")]);
        var streamed = "";
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("streamed via yarp")]))
        {
            streamed += string.Concat(update.ContentUpdate.Select(p => p.Text));
        }

        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "w", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}""")) } };
        List<ChatMessage> messages = [new UserChatMessage("weather?")];
        ChatCompletion tool = await client.CompleteChatAsync(messages, options);
        messages.Add(new AssistantChatMessage(tool));
        messages.Add(new ToolChatMessage(tool.ToolCalls[0].Id, "rainy"));
        ChatCompletion answer = await client.CompleteChatAsync(messages, options);

        Assert.Equal("Hello from anthropic: via yarp", completion.Content[0].Text);
        Assert.Equal("Hello from anthropic: streamed via yarp", streamed);
        Assert.Equal(ChatFinishReason.ToolCalls, tool.FinishReason);
        Assert.Equal("Results: rainy", answer.Content[0].Text);
        var call = _upstream.LastCall("anthropic");
        Assert.Equal("/anthropic/v1/messages", call.Path);
        Assert.DoesNotContain("caller-key", call.Headers.ToString());
    }

    [Fact]
    public async Task AnthropicSdkThroughConfigDrivenRouteToGemini()
    {
        var client = new AnthropicClient { ApiKey = "caller-key", BaseUrl = _edge.BaseUrl + "/edge", MaxRetries = 0 };

        var message = await client.Messages.Create(new MessageCreateParams { Model = "anything", MaxTokens = 100, Messages = [new UserMessageParam("gemini via yarp")] });
        var streamed = "";
        await foreach (var e in client.Messages.CreateStreaming(new MessageCreateParams { Model = "anything", MaxTokens = 100, Messages = [new UserMessageParam("stream")] }))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var text))
            {
                streamed += text.Text;
            }
        }

        Assert.True(message.Content[0].TryPickText(out var block));
        Assert.Equal("Hello from gemini: gemini via yarp", block.Text);
        Assert.Equal("Hello from gemini: stream", streamed);
        var call = _upstream.LastCall("gemini");
        Assert.Equal("/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent", call.Path);
        Assert.Equal("?alt=sse", call.Query);
    }

    /// <summary>Only an allow-list of the caller's headers reaches the provider, and only retry hints of the provider's
    /// come back: a caller cannot pick the organization the company's key bills, nor see its cookies or ids.</summary>
    [Fact]
    public async Task AnLlmRouteForwardsOnlyAllowedHeadersEitherWay()
    {
        _upstream.Enqueue(new FakeFault
        {
            Status = 429,
            Provider = "anthropic",
            Body = """{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}""",
            Headers = { ["set-cookie"] = "session=abc", ["anthropic-organization-id"] = "org-company", ["retry-after"] = "3" },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, _edge.BaseUrl + "/edge/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer caller-token");
        request.Headers.Add("openai-organization", "org-x");
        request.Headers.Add("x-auth-request-email", "alice@example.com");
        request.Headers.Add("Cookie", "edge-session=1");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        using var response = await _http.SendAsync(request);

        var sent = _upstream.LastCall("anthropic").Headers;
        Assert.False(sent.ContainsKey("openai-organization"));
        Assert.False(sent.ContainsKey("x-auth-request-email"));
        Assert.False(sent.ContainsKey("Cookie"));
        Assert.Equal(FakeUpstream.AnthropicKey, sent["x-api-key"].ToString());
        Assert.Equal("2023-06-01", sent["anthropic-version"].ToString());
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("3", response.Headers.GetValues("retry-after").Single());
        Assert.False(response.Headers.Contains("set-cookie"));
        Assert.False(response.Headers.Contains("anthropic-organization-id"));
    }

    [Fact]
    public async Task AnAnthropicCallerToAnthropicKeepsItsOwnVersionAndBetaOnce()
    {
        var settings = ConfigDrivenRoutes(_upstream);
        settings["ReverseProxy:Routes:native:ClusterId"] = "anthropic";
        settings["ReverseProxy:Routes:native:Match:Path"] = "/native/v1/messages";
        settings["ReverseProxy:Routes:native:Metadata:Llm.InboundProtocol"] = "anthropic";
        await _edge.DisposeAsync();
        _edge = await StartEdgeAsync(settings);
        using var request = new HttpRequestMessage(HttpMethod.Post, _edge.BaseUrl + "/native/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("anthropic-version", "2023-06-01");
        request.Headers.Add("anthropic-beta", "context-1m-2025-08-07");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = _upstream.LastCall("anthropic").Headers;
        Assert.Equal("2023-06-01", Assert.Single(sent["anthropic-version"]));
        Assert.Equal("context-1m-2025-08-07", Assert.Single(sent["anthropic-beta"]));
    }

    [Fact]
    public async Task OrdinaryRoutesAreUntouched()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _edge.BaseUrl + "/plain/anything")
        {
            Content = new StringContent("""{"model":"x","messages":"not an llm call"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer caller-token");

        using var response = await _http.SendAsync(request);
        using var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/echo/plain/anything", echo.RootElement.GetProperty("path").GetString());
        Assert.Equal("Bearer caller-token", echo.RootElement.GetProperty("authorization").GetString());
        Assert.Equal("""{"model":"x","messages":"not an llm call"}""", echo.RootElement.GetProperty("body").GetString());
    }

    [Fact]
    public async Task BadInputOnAnLlmRouteGetsCallersProtocolError()
    {
        using var response = await _http.PostAsync(_edge.BaseUrl + "/edge/v1/messages", new StringContent("""{"model":"x","messages":[]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", json.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task UpstreamErrorsAreTranslatedOnLlmRoutes()
    {
        _upstream.Enqueue(new FakeFault { Status = 529, Body = """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", Headers = { ["retry-after"] = "2" } });

        using var response = await _http.PostAsync(_edge.BaseUrl + "/edge/v1/chat/completions", new StringContent(
            """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("2", response.Headers.GetValues("retry-after").Single());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Overloaded", json.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task BrokenStreamThroughYarpIsNotACleanFinish()
    {
        _upstream.Enqueue(new FakeFault { BreakAfterEvents = 3 });
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(_edge.BaseUrl + "/edge/v1") }).GetChatClient("claude-sonnet-4-5");

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in client.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
            }
        });
    }

    [Fact]
    public async Task CodeDrivenRoutes()
    {
        var routes = new[]
        {
            new RouteConfig { RouteId = "by-metadata", ClusterId = "openai", Match = new RouteMatch { Path = "/code/v1/messages" } }.WithLlm(LlmProtocol.AnthropicMessages, "openai", "gpt-4o-mini"),
            new RouteConfig { RouteId = "by-transform", ClusterId = "anthropic", Match = new RouteMatch { Path = "/code2/v1/chat/completions" } },
        };
        var clusters = new[]
        {
            new ClusterConfig { ClusterId = "openai", Destinations = new Dictionary<string, DestinationConfig> { ["d"] = new() { Address = _upstream.BaseUrl + "/openai/v1" } } },
            new ClusterConfig { ClusterId = "anthropic", Destinations = new Dictionary<string, DestinationConfig> { ["d"] = new() { Address = _upstream.BaseUrl + "/anthropic" } } },
        };
        await using var edge = await GatewayHost.StartAsync(
            _upstream,
            builder => builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters).AddLlmTransforms()
                .AddTransforms(ctx =>
                {
                    if (ctx.Route.RouteId == "by-transform")
                    {
                        ctx.AddLlmTranslation(LlmProtocol.OpenAIChat, "anthropic", "claude-haiku-4-5");
                    }
                }),
            app => app.MapReverseProxy());

        var anthropic = new AnthropicClient { ApiKey = "k", BaseUrl = edge.BaseUrl + "/code", MaxRetries = 0 };
        var message = await anthropic.Messages.Create(new MessageCreateParams { Model = "whatever", MaxTokens = 50, Messages = [new UserMessageParam("code route")] });
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello from openai: code route", text.Text);
        Assert.Equal("gpt-4o-mini", _upstream.LastCall("openai").Body["model"]!.GetValue<string>());

        var openai = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(edge.BaseUrl + "/code2/v1") }).GetChatClient("whatever");
        ChatCompletion completion = await openai.CompleteChatAsync([new UserChatMessage("second")]);
        Assert.Equal("Hello from anthropic: second", completion.Content[0].Text);
        Assert.Equal("claude-haiku-4-5", _upstream.LastCall("anthropic").Body["model"]!.GetValue<string>());

        // LLM routes are metered like the gateway endpoints: cost headers on non-streamed responses.
        using var http = new HttpClient();
        using var raw = await http.PostAsync(edge.BaseUrl + "/code2/v1/chat/completions", new StringContent("""{"model":"x","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal("0.0000433", raw.Headers.GetValues("x-llm-cost-usd").Single()); // (8 x 1.00 + 3 x 0.10 + 7 x 5.00) / 1e6
    }

    [Fact]
    public async Task UnreachableProviderOnAnLlmRouteIsAnErrorInCallersProtocol()
    {
        var settings = ConfigDrivenRoutes(_upstream);
        settings["ReverseProxy:Clusters:gemini:Destinations:d1:Address"] = "http://127.0.0.1:1";
        await using var edge = await StartEdgeAsync(settings);

        using var response = await _http.PostAsync(edge.BaseUrl + "/edge/v1/messages", new StringContent(
            """{"model":"x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("api_error", json.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("gemini", json.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task HashCookieSessionAffinityKeepsACallerOnItsDestination()
    {
        // HashCookie affinity hashes with System.IO.Hashing, which YARP now restores as an ordinary dependency.
        await using var second = await FakeUpstream.StartAsync();
        var settings = ConfigDrivenRoutes(_upstream);
        settings["ReverseProxy:Routes:affine:ClusterId"] = "affine";
        settings["ReverseProxy:Routes:affine:Match:Path"] = "/affine/v1/chat/completions";
        settings["ReverseProxy:Routes:affine:Metadata:Llm.InboundProtocol"] = "openai";
        settings["ReverseProxy:Clusters:affine:Metadata:Llm.Provider"] = "anthropic";
        settings["ReverseProxy:Clusters:affine:LoadBalancingPolicy"] = "RoundRobin";
        settings["ReverseProxy:Clusters:affine:SessionAffinity:Enabled"] = "true";
        settings["ReverseProxy:Clusters:affine:SessionAffinity:Policy"] = "HashCookie";
        settings["ReverseProxy:Clusters:affine:SessionAffinity:AffinityKeyName"] = "llm-affinity";
        settings["ReverseProxy:Clusters:affine:Destinations:d1:Address"] = _upstream.BaseUrl + "/anthropic";
        settings["ReverseProxy:Clusters:affine:Destinations:d2:Address"] = second.BaseUrl + "/anthropic";
        await using var edge = await StartEdgeAsync(settings);

        async Task<HttpResponseMessage> AskAsync(string? cookie)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, edge.BaseUrl + "/affine/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            };
            if (cookie is not null)
            {
                request.Headers.Add("Cookie", cookie);
            }

            var response = await _http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return response;
        }

        using var first = await AskAsync(null);
        var cookie = first.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("llm-affinity=", StringComparison.Ordinal)).Split(';')[0];
        var pinned = _upstream.Calls.IsEmpty ? second : _upstream;
        for (var i = 0; i < 4; i++)
        {
            using var _ = await AskAsync(cookie);
        }

        Assert.Equal(5, pinned.Calls.Count);
        Assert.Empty((pinned == second ? _upstream : second).Calls);
    }

    [Fact]
    public async Task ARouteOnAModelGroupRunsTheGatewaysPipelineAndRouterInsteadOfForwarding()
    {
        var hook = new RecordingHook();
        var reachedStage = 0;
        var settings = new Dictionary<string, string?>(ConfigDrivenRoutes(_upstream))
        {
            ["LlmGateway:Groups:chain:Deployments:0:Provider"] = "openai",
            ["LlmGateway:Groups:chain:Deployments:0:Model"] = "gpt-4o-mini",
            ["LlmGateway:Groups:chain:Deployments:1:Provider"] = "anthropic",
            ["LlmGateway:Groups:chain:Deployments:1:Model"] = "claude-sonnet-4-5",
            ["LlmGateway:Groups:chain:MaxRetries"] = "0",
            ["ReverseProxy:Routes:group:ClusterId"] = "plain", // not used: the group's deployments serve the route
            ["ReverseProxy:Routes:group:Match:Path"] = "/group/v1/chat/completions",
            ["ReverseProxy:Routes:group:Metadata:Llm.InboundProtocol"] = "openai",
            ["ReverseProxy:Routes:group:Metadata:Llm.Group"] = "chain",
            ["ReverseProxy:Routes:group:Metadata:Llm.Task"] = "routed",
        };
        await using var edge = await StartEdgeAsync(settings, proxy => proxy.Services.AddLlmGateway().AddHook(hook).AddStage((context, next, cancellationToken) =>
        {
            Interlocked.Increment(ref reachedStage);
            return next(context, cancellationToken);
        }, editsRequest: false));
        _upstream.Enqueue(new FakeFault { Provider = "openai", Status = 503, Body = """{"error":{"message":"overloaded","type":"server_error"}}""" });
        var client = new OpenAIClient(new ApiKeyCredential("caller-key"), new OpenAIClientOptions { Endpoint = new Uri(edge.BaseUrl + "/group/v1") }).GetChatClient("any-name");

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("via a group")]);

        Assert.Equal("Hello from anthropic: via a group", completion.Content[0].Text);
        Assert.Equal(1, reachedStage);
        await hook.Changes.UntilAsync(() => hook.Completed.Count == 1, "The call never completed.");
        var context = Assert.Single(hook.Completed);
        Assert.Equal(["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"], context.Attempts.Select(a => a.Deployment));
        Assert.NotNull(context.Record);
        Assert.Equal(("anthropic", "routed"), (context.Record!.Provider, context.Record.Task)); // the route's task label
        Assert.DoesNotContain(_upstream.Calls, c => c.Path.StartsWith("/echo", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Llm.InboundProtocol", "cobol", "must be 'openai' or 'anthropic'")]
    [InlineData("Llm.Provder", "openai", "unknown LLM metadata key 'Llm.Provder'")]
    [InlineData("Llm.Provider", "nobody", "unknown provider 'nobody'")]
    [InlineData("Llm.CachePolicy", "nonesuch", "unknown cache policy 'nonesuch'")]
    [InlineData("Llm.Group", "nonesuch", "unknown model group 'nonesuch'")]
    public async Task InvalidLlmMetadataStopsStartup(string key, string value, string message)
    {
        var settings = ConfigDrivenRoutes(_upstream);
        settings["ReverseProxy:Routes:chat:Metadata:" + key] = value;

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => StartEdgeAsync(settings));

        Assert.Contains(message, ex.ToString());
    }

    /// <summary>An edge whose proxy pipeline runs LLM routes through the gateway's call pipeline, with a counting stage.</summary>
    private Task<GatewayHost> StartPipelinedEdgeAsync(Dictionary<string, string?> settings, RecordingHook hook, CollectingSink sink, Action reached) =>
        GatewayHost.StartAsync(
            _upstream,
            builder =>
            {
                builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy")).AddLlmTransforms();
                builder.Services.AddSingleton<ILlmCallRecordSink>(sink);
                builder.Services.AddLlmGateway().AddHook(hook).AddStage((context, next, cancellationToken) =>
                {
                    reached();
                    return next(context, cancellationToken);
                }, editsRequest: false);
            },
            app => app.MapReverseProxy(proxy =>
            {
                proxy.UseLlmPipeline();
                proxy.UseSessionAffinity();
                proxy.UseLoadBalancing();
                proxy.UsePassiveHealthChecks();
            }),
            settings);

    [Fact]
    public async Task UseLlmPipelineRunsTheHostsStagesAroundYarpsOwnForwarding()
    {
        var (hook, sink, reached) = (new RecordingHook(), new CollectingSink(), 0);
        var settings = new Dictionary<string, string?>(ConfigDrivenRoutes(_upstream)) { ["LlmGateway:Cache:Mode"] = "Exact" };
        await using var edge = await StartPipelinedEdgeAsync(settings, hook, sink, () => Interlocked.Increment(ref reached));
        var client = new OpenAIClient(new ApiKeyCredential("caller-key"), new OpenAIClientOptions { Endpoint = new Uri(edge.BaseUrl + "/edge/v1") }).GetChatClient("claude-sonnet-4-5");

        ChatCompletion first = await client.CompleteChatAsync([new UserChatMessage("through the pipeline")]);
        ChatCompletion second = await client.CompleteChatAsync([new UserChatMessage("through the pipeline")]);

        Assert.Equal("Hello from anthropic: through the pipeline", first.Content[0].Text);
        Assert.Equal("Hello from anthropic: through the pipeline", second.Content[0].Text);
        Assert.Equal(1, reached); // the second call was answered by the cache stage, before the host's stage
        Assert.Single(_upstream.Calls, c => c.Provider == "anthropic" && c.Body.ToJsonString().Contains("through the pipeline", StringComparison.Ordinal));
        await hook.Changes.UntilAsync(() => hook.Completed.Count == 2, "The calls never completed.");
        Assert.Equal([LlmCacheOutcome.Miss, LlmCacheOutcome.HitExact], hook.Completed.Select(c => c.CacheOutcome));
        await sink.WaitForAsync(_ => true, 2);
        Assert.Equal(2, sink.Records.Count); // each call metered once, by the pipeline
    }

    [Fact]
    public async Task UnderUseLlmPipelineAnUnreachableProviderIsAnErrorTheStagesSee()
    {
        var (hook, sink, reached) = (new RecordingHook(), new CollectingSink(), 0);
        var settings = new Dictionary<string, string?>(ConfigDrivenRoutes(_upstream)) { ["ReverseProxy:Clusters:anthropic:Destinations:d1:Address"] = "http://127.0.0.1:1" };
        await using var edge = await StartPipelinedEdgeAsync(settings, hook, sink, () => Interlocked.Increment(ref reached));

        using var response = await _http.PostAsync(edge.BaseUrl + "/edge/v1/chat/completions", new StringContent("""{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("upstream_unreachable", json.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, reached);
        var record = await sink.WaitForAsync(_ => true);
        Assert.Equal("upstream_unreachable", record.ErrorCode);
    }

    [Fact]
    public async Task AGroupRouteThatAlsoNamesAProviderStopsStartup()
    {
        var settings = ConfigDrivenRoutes(_upstream);
        settings["LlmGateway:Groups:chain:Deployments:0:Provider"] = "openai";
        settings["LlmGateway:Groups:chain:Deployments:0:Model"] = "gpt-4o-mini";
        settings["ReverseProxy:Routes:messages:Metadata:Llm.Group"] = "chain"; // this route names provider and model

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => StartEdgeAsync(settings));

        Assert.Contains("a route served by a model group ('Llm.Group') names no 'Llm.Provider' or 'Llm.Model'", ex.ToString());
    }

    [Fact]
    public async Task ARoutesCachePolicyAppliesOnlyToThatRoute()
    {
        var settings = ConfigDrivenRoutes(_upstream);
        settings["LlmGateway:Cache:Policies:edge-semantic:Mode"] = "Semantic";
        settings["LlmGateway:Cache:Policies:edge-semantic:SimilarityThreshold"] = "0.9";
        settings["ReverseProxy:Routes:chat:Metadata:Llm.CachePolicy"] = "edge-semantic";
        await _edge.DisposeAsync();
        _edge = await StartEdgeAsync(settings);

        async Task<(string Cache, string Text)> AskAsync(string path, string body)
        {
            // A caller the edge can tell apart (its key): an anonymous one would share nothing and always bypass.
            using var request = new HttpRequestMessage(HttpMethod.Post, _edge.BaseUrl + path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add("Authorization", "Bearer caller-token");
            using var response = await _http.SendAsync(request);
            return (response.Headers.TryGetValues("x-llm-cache", out var values) ? values.Single() : "none", await response.Content.ReadAsStringAsync());
        }

        var first = await AskAsync("/edge/v1/chat/completions", """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Which planet is largest?"}]}""");
        var near = await AskAsync("/edge/v1/chat/completions", """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"which planet is largest"}]}""");
        var streamed = await AskAsync("/edge/v1/chat/completions", """{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"Which planet is largest?"}]}""");
        var other = await AskAsync("/edge/v1/messages", """{"model":"x","max_tokens":50,"messages":[{"role":"user","content":"Which planet is largest?"}]}""");
        var otherAgain = await AskAsync("/edge/v1/messages", """{"model":"x","max_tokens":50,"messages":[{"role":"user","content":"Which planet is largest?"}]}""");

        Assert.Equal("miss", first.Cache);
        Assert.Equal("hit-semantic", near.Cache);
        Assert.Contains("Hello from anthropic: Which planet is largest?", near.Text);
        Assert.Equal("hit-exact", streamed.Cache);
        Assert.Equal("Hello from anthropic: Which planet is largest?", StreamText.JoinOpenAIContent(streamed.Text));
        Assert.Equal("none", other.Cache);
        Assert.Equal("none", otherAgain.Cache);
        Assert.Single(_upstream.Calls, c => c.Provider == "anthropic");
        Assert.Equal(2, _upstream.Calls.Count(c => c.Provider == "gemini"));
    }
}
