using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests.Caching;

/// <summary>The exact and semantic response cache through a real gateway, fake providers and the official SDKs.</summary>
public sealed class CacheTests : IAsyncLifetime
{
    private readonly CollectingSink _sink = new();
    private readonly HttpClient _http = new();
    private FakeUpstream _upstream = null!;
    private GatewayHost _gateway = null!;

    private static readonly Dictionary<string, string?> CacheSettings = new()
    {
        ["LlmGateway:Cache:Mode"] = "Exact",
        ["LlmGateway:Cache:Policies:semantic:Mode"] = "Semantic",
        ["LlmGateway:Cache:Policies:semantic:SimilarityThreshold"] = "0.9",
        ["LlmGateway:Cache:Policies:semantic:MaxSemanticTemperature"] = "0.7",
        ["LlmGateway:Cache:Policies:semantic-tools:Mode"] = "Semantic",
        ["LlmGateway:Cache:Policies:semantic-tools:SimilarityThreshold"] = "0.9",
        ["LlmGateway:Cache:Policies:semantic-tools:SemanticWithTools"] = "true",
        ["LlmGateway:Cache:Policies:shared:Mode"] = "Exact",
        ["LlmGateway:Cache:Policies:shared:Scope"] = "Shared",
        ["LlmGateway:Metering:FlushInterval"] = "00:00:00.020",
    };

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _gateway = await StartGatewayAsync();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private Task<GatewayHost> StartGatewayAsync(Dictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null) => GatewayHost.StartAsync(
        _upstream,
        b =>
        {
            b.Services.AddLlmGateway();
            b.Services.AddSingleton<ILlmCallRecordSink>(_sink);
            configure?.Invoke(b);
        },
        app =>
        {
            app.MapLlmGateway();
            app.MapLlmGateway("/semantic").WithLlmCachePolicy("semantic");
            app.MapLlmGateway("/semantic-tools").WithLlmCachePolicy("semantic-tools");
            app.MapLlmGateway("/shared").WithLlmCachePolicy("shared");
            app.MapLlmGateway("/off").WithLlmCachePolicy("off");
        },
        Overlay(CacheSettings, settings));

    private static Dictionary<string, string?> Overlay(Dictionary<string, string?> settings, Dictionary<string, string?>? overrides)
    {
        var result = new Dictionary<string, string?>(settings);
        foreach (var (key, value) in overrides ?? [])
        {
            result[key] = value;
        }

        return result;
    }

    private int UpstreamChats => _upstream.Calls.Count(c => !c.Path.Contains("embeddings", StringComparison.Ordinal));

    private async Task<(HttpStatusCode Status, string Body, HttpResponseHeaders Headers)> PostAsync(string body, string path = "/v1/chat/completions", string key = "caller-a", string? cacheControl = null, string? prefix = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.BaseUrl + prefix + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        request.Headers.Add("x-api-key", key);
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }

        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers);
    }

    private static string Chat(string text, string model = "gpt", string extra = "") =>
        $$"""{"model":"{{model}}","max_tokens":64{{extra}},"messages":[{"role":"user","content":{{JsonSerializer.Serialize(text)}}}]}""";

    private static string CacheHeader(HttpResponseHeaders headers) => headers.GetValues("x-llm-cache").Single();

    [Fact]
    public async Task AnIdenticalRequestIsAnsweredFromTheCacheAtZeroCostWithTheSavedCostReported()
    {
        var first = await PostAsync(Chat("What is 2+2?"));
        var second = await PostAsync(Chat("What is 2+2?"));

        Assert.Equal("miss", CacheHeader(first.Headers));
        Assert.Equal("hit-exact", CacheHeader(second.Headers));
        Assert.Equal(1, UpstreamChats);
        Assert.Equal(JsonDocument.Parse(first.Body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            JsonDocument.Parse(second.Body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("0", second.Headers.GetValues("x-llm-cost-usd").Single());
        var original = await _sink.WaitForAsync(r => r.Cache == LlmCacheOutcome.Miss);
        var hit = await _sink.WaitForAsync(r => r.Cache == LlmCacheOutcome.HitExact);
        Assert.True(original.Cost > 0);
        Assert.Equal(0m, hit.Cost);
        Assert.Equal(original.Cost, hit.SavedCost);
        Assert.Equal(original.PriceVersion, hit.PriceVersion);
        Assert.Equal(original.OutputTokens, hit.OutputTokens);
        Assert.Equal("openai", hit.Provider);
        Assert.Equal(original.Cost!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), second.Headers.GetValues("x-llm-cost-saved-usd").Single());
    }

    [Theory]
    [InlineData("openai/text-embedding-3-small")]   // passed through
    [InlineData("gemini/gemini-embedding-001")]     // translated, its usage counted
    public async Task AnIdenticalEmbeddingsRequestIsAnsweredFromTheCacheAndAnotherIsNot(string model)
    {
        var request = $$"""{"model":"{{model}}","input":["cached vectors","more text"]}""";
        int Embeddings() => _upstream.Calls.Count(c => c.Path.Contains("mbed", StringComparison.Ordinal));

        var first = await PostAsync(request, "/v1/embeddings");
        var second = await PostAsync(request, "/v1/embeddings");
        var other = await PostAsync($$"""{"model":"{{model}}","input":["cached vectors","more text"],"dimensions":8}""", "/v1/embeddings");

        Assert.Equal(("miss", "hit-exact", "miss"), (CacheHeader(first.Headers), CacheHeader(second.Headers), CacheHeader(other.Headers)));
        Assert.Equal(2, Embeddings());
        Assert.Equal(first.Body, second.Body);
        Assert.Equal(2, JsonDocument.Parse(second.Body).RootElement.GetProperty("data").GetArrayLength());
        var hit = await _sink.WaitForAsync(r => r.Cache == LlmCacheOutcome.HitExact && r.Operation == LlmOperationNames.Embeddings);
        Assert.True(hit.InputTokens > 0);
        Assert.Equal(0m, hit.Cost);
    }

    [Fact]
    public async Task AResponsesApiCallIsMeteredAndCachedAsChatIs()
    {
        const string body = """{"model":"gpt","input":"What is 3+3?"}""";
        var first = await PostAsync(body, "/v1/responses");
        var second = await PostAsync(body, "/v1/responses");

        Assert.Equal(("miss", "hit-exact"), (CacheHeader(first.Headers), CacheHeader(second.Headers)));
        Assert.Equal(1, UpstreamChats);
        Assert.Equal("response", JsonDocument.Parse(second.Body).RootElement.GetProperty("object").GetString());
        Assert.Equal(JsonDocument.Parse(first.Body).RootElement.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString(),
            JsonDocument.Parse(second.Body).RootElement.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        var original = await _sink.WaitForAsync(r => r.Cache == LlmCacheOutcome.Miss && r.RequestedModel == "gpt" && r.InputTokens > 0);
        Assert.True(original.Cost > 0);
        Assert.Equal(original.Cost, (await _sink.WaitForAsync(r => r.Cache == LlmCacheOutcome.HitExact)).SavedCost);
    }

    [Fact]
    public async Task CacheOutcomesSavedCostTokensByTypeAndTimeToFirstTokenAreMeasured()
    {
        var meters = _gateway.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var outcomes = new MetricCollector<long>(meters, "LlmMiddleware", "llm_gateway.cache.requests");
        using var saved = new MetricCollector<double>(meters, "LlmMiddleware", "llm_gateway.cache.saved_cost");
        using var tokens = new MetricCollector<long>(meters, "LlmMiddleware", "llm_gateway.tokens");
        using var firstToken = new MetricCollector<double>(meters, "LlmMiddleware", "gen_ai.server.time_to_first_token");

        await PostAsync(Chat("Measure me"));
        await PostAsync(Chat("Measure me"));
        await PostAsync(Chat("Measure me too", extra: ",\"stream\":true"));
        var original = await _sink.WaitForAsync(r => r.Cache == LlmCacheOutcome.Miss && !r.Stream);
        await outcomes.WaitForMeasurementsAsync(3);
        await firstToken.WaitForMeasurementsAsync(1);

        Assert.Equal(["hit_exact", "miss", "miss"], outcomes.GetMeasurementSnapshot().Select(m => (string)m.Tags["llm_gateway.cache.outcome"]!).Order());
        Assert.Equal((double)original.Cost!.Value, Assert.Single(saved.GetMeasurementSnapshot()).Value, 12);
        var byType = tokens.GetMeasurementSnapshot().GroupBy(m => (string)m.Tags["llm_gateway.token.type"]!).ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
        Assert.Equal(2 * original.InputTokens, byType["input"]); // the two misses; the hit spent nothing
        Assert.Equal(2 * original.CachedInputTokens, byType["cached_input"]);
        Assert.Equal(2 * original.OutputTokens, byType["output"]);
        Assert.True(original.CachedInputTokens > 0);
        Assert.Equal("chat", Assert.Single(firstToken.GetMeasurementSnapshot()).Tags["gen_ai.operation.name"]);
    }

    [Fact]
    public async Task KeyOrderAndWhitespaceDoNotMatter()
    {
        await PostAsync("""{"model":"gpt","temperature":0.2,"messages":[{"role":"user","content":"Order?"}]}""");
        var second = await PostAsync("""
            {
              "messages" : [ { "content" : "Order?", "role" : "user" } ],
              "temperature" : 0.20,
              "model" : "gpt"
            }
            """);

        Assert.Equal("hit-exact", CacheHeader(second.Headers));
        Assert.Equal(1, UpstreamChats);
    }

    [Fact]
    public async Task AnOutputChangingFieldIsADifferentEntry()
    {
        await PostAsync(Chat("Same words"));
        var other = await PostAsync(Chat("Same words", extra: ""","temperature":0.5"""));

        // A field the gateway does not model still reaches the provider in passthrough: keyed as sent.
        var biased = await PostAsync(Chat("Same words", extra: ""","logit_bias":{"50256":-100}"""));
        var biasedAgain = await PostAsync(Chat("Same words", extra: ""","logit_bias" : { "50256" : -100 }"""));

        Assert.Equal("miss", CacheHeader(other.Headers));
        Assert.Equal("miss", CacheHeader(biased.Headers));
        Assert.Equal("hit-exact", CacheHeader(biasedAgain.Headers));
        Assert.Equal(3, UpstreamChats);
    }

    [Fact]
    public async Task AStreamedMissIsStoredAndReplayedToBothSdksAsWellFormedStreams()
    {
        var openai = new OpenAIClient(new ApiKeyCredential("caller-a"), new OpenAIClientOptions { Endpoint = new Uri(_gateway.BaseUrl + "/v1") }).GetChatClient("gpt");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 64 };
        string live = "", replayed = "";
        await foreach (var update in openai.CompleteChatStreamingAsync([new UserChatMessage("Stream me")], options))
        {
            live += string.Concat(update.ContentUpdate.Select(p => p.Text));
        }

        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in openai.CompleteChatStreamingAsync([new UserChatMessage("Stream me")], new ChatCompletionOptions { MaxOutputTokenCount = 64 }))
        {
            replayed += string.Concat(update.ContentUpdate.Select(p => p.Text));
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal("Hello from openai: Stream me", live);
        Assert.Equal(live, replayed);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.True(usage?.OutputTokenCount > 0, "The SDK asks for usage; the replay must carry it.");
        Assert.Equal(1, UpstreamChats);

        // The same request in Anthropic's protocol has the same key: replayed as an Anthropic stream.
        var anthropic = new AnthropicClient { ApiKey = "caller-a", BaseUrl = _gateway.BaseUrl, MaxRetries = 0 };
        var text = "";
        var events = new List<string>();
        long? outputTokens = null;
        await foreach (var e in anthropic.Messages.CreateStreaming(new MessageCreateParams { Model = "gpt", MaxTokens = 64, Messages = [new UserMessageParam("Stream me")] }))
        {
            events.Add(e.Json.GetProperty("type").GetString()!);
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var textDelta))
            {
                text += textDelta.Text;
            }

            if (e.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta.Usage.OutputTokens;
            }
        }

        Assert.Equal(live, text);
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"], events);
        Assert.True(outputTokens > 0);
        Assert.Equal(1, UpstreamChats);
        await _sink.WaitForAsync(r => r.Cache == LlmCacheOutcome.Miss && r.Stream);
        await _sink.WaitForAsync(r => r.Cache == LlmCacheOutcome.HitExact && r.Stream, 2); // both replays metered as hits
    }

    [Fact]
    public async Task AnAnthropicCallerGetsAReplayInItsOwnProtocolWithUsage()
    {
        var first = await PostAsync(Chat("Cross protocol"));
        var message = await new AnthropicClient { ApiKey = "caller-a", BaseUrl = _gateway.BaseUrl, MaxRetries = 0 }.Messages.Create(
            new MessageCreateParams { Model = "gpt", MaxTokens = 64, Messages = [new UserMessageParam("Cross protocol")] });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello from openai: Cross protocol", text.Text);
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.True(message.Usage.OutputTokens > 0);
        Assert.Equal(1, UpstreamChats);
    }

    [Fact]
    public async Task FiftyIdenticalConcurrentRequestsMakeOneUpstreamCall()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _upstream.Enqueue(new FakeFault { HoldUntil = release.Task });
        var calls = Enumerable.Range(0, 50).Select(i => PostAsync(Chat("Stampede", extra: i % 2 == 0 ? "" : ""","stream":true"""))).ToArray();

        // The leader holds the upstream call open; a caller arriving after it answers gets the stored entry, also a hit.
        await _upstream.WaitForCallsAsync(_ => UpstreamChats > 0, "The leader never reached the upstream.");
        release.SetResult();
        var results = await Task.WhenAll(calls);

        Assert.Equal(1, UpstreamChats);
        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(results, r => Assert.Equal("Hello from openai: Stampede", r.Body.StartsWith("data:", StringComparison.Ordinal)
            ? StreamText.JoinOpenAIContent(r.Body)
            : JsonDocument.Parse(r.Body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
        Assert.Single(results, r => CacheHeader(r.Headers) == "miss");
        Assert.Equal(49, results.Count(r => CacheHeader(r.Headers) == "hit-exact"));
    }

    [Fact]
    public async Task AWaiterGivesASlowLeaderNoMoreThanItsOwnFirstTokenDeadline()
    {
        var clock = new ObservedClock();
        await _gateway.DisposeAsync();
        _gateway = await StartGatewayAsync(new() { ["LlmGateway:FirstTokenTimeout"] = "00:00:05" }, b => b.Services.AddSingleton<TimeProvider>(clock));

        // The leader streams its first words and then stalls (for real time; the gateway's clock moves only when driven).
        _upstream.Enqueue(new FakeFault { DelayAfterEvents = 2, EventDelay = TimeSpan.FromSeconds(30) });
        var leader = PostAsync(Chat("Slow leader", extra: ""","stream":true"""));
        // Its relay sets the stream's idle limit (2 min by default) once the first words are in: the leader has met
        // its own 5 s first-token limit, which a schedule of the same length must not be taken for below.
        await clock.ScheduledAsync(TimeSpan.FromMinutes(2));
        clock.ForgetScheduled();
        var waiter = PostAsync(Chat("Slow leader"));

        // Once the waiter waits on the leader (for at most its own 5 s), the gateway's clock moves 5 s: the waiter gives
        // up and calls the provider itself, long before the leader ends.
        await clock.ScheduledAsync(TimeSpan.FromSeconds(5));
        clock.Advance(TimeSpan.FromSeconds(5));

        var answer = await waiter;
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("miss", CacheHeader(answer.Headers));
        Assert.Contains("Hello from openai: Slow leader", answer.Body);
        Assert.Equal(2, UpstreamChats);
        Assert.False(leader.IsCompleted);
    }

    [Fact]
    public async Task AFailedCallIsNotCachedAndItsWaitersCallTheProviderThemselves()
    {
        _upstream.Enqueue(new FakeFault { Status = 500, Body = """{"error":{"message":"boom","type":"server_error"}}""" });
        var failed = await PostAsync(Chat("Fails once"));
        var retried = await PostAsync(Chat("Fails once"));
        var cached = await PostAsync(Chat("Fails once"));

        Assert.Equal(HttpStatusCode.InternalServerError, failed.Status);
        Assert.Equal("miss", CacheHeader(retried.Headers));
        Assert.Equal("hit-exact", CacheHeader(cached.Headers));
        Assert.Equal(2, UpstreamChats);
    }

    [Fact]
    public async Task EntriesAreScopedToTheCallersKeyUnlessThePolicyShares()
    {
        await PostAsync(Chat("Tenant question"), key: "tenant-1");
        var other = await PostAsync(Chat("Tenant question"), key: "tenant-2");
        await PostAsync(Chat("Shared question"), prefix: "/shared", key: "tenant-1");
        var shared = await PostAsync(Chat("Shared question"), prefix: "/shared", key: "tenant-2");

        Assert.Equal("miss", CacheHeader(other.Headers));
        Assert.Equal("hit-exact", CacheHeader(shared.Headers));
        Assert.Equal(3, UpstreamChats);
    }

    [Fact]
    public async Task CallersTheGatewayCannotTellApartShareNothing()
    {
        // The host authenticates with Basic (no bearer, no x-api-key reaches the gateway): its principal is the identity.
        await _gateway.DisposeAsync();
        _gateway = await GatewayHost.StartAsync(
            _upstream,
            b => b.Services.AddLlmGateway(),
            app =>
            {
                app.Use((http, next) =>
                {
                    if (AuthenticationHeaderValue.TryParse(http.Request.Headers.Authorization, out var basic) && basic.Scheme == "Basic")
                    {
                        var user = Encoding.UTF8.GetString(Convert.FromBase64String(basic.Parameter!)).Split(':')[0];
                        http.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], "Basic"));
                    }

                    return next(http);
                });
                app.MapLlmGateway();
                app.MapLlmGateway("/shared").WithLlmCachePolicy("shared");
            },
            CacheSettings);

        async Task<string> AskAsync(string text, string? basicUser, string prefix = "")
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.BaseUrl + prefix + "/v1/chat/completions") { Content = new StringContent(Chat(text), Encoding.UTF8, "application/json") };
            if (basicUser is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basicUser + ":secret")));
            }

            using var response = await _http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return CacheHeader(response.Headers);
        }

        Assert.Equal("miss", await AskAsync("Basic question", "alice"));
        Assert.Equal("hit-exact", await AskAsync("Basic question", "alice"));
        Assert.Equal("miss", await AskAsync("Basic question", "bob"));
        Assert.Equal("bypass", await AskAsync("Anonymous question", null));
        Assert.Equal("bypass", await AskAsync("Anonymous question", null));
        Assert.Equal("miss", await AskAsync("Anonymous shared question", null, "/shared"));
        Assert.Equal("hit-exact", await AskAsync("Anonymous shared question", null, "/shared"));
        Assert.Equal(5, UpstreamChats);
    }

    [Fact]
    public async Task AHookIdentityWithNeitherKeyNorTeamSharesNothing()
    {
        await _gateway.DisposeAsync();
        _gateway = await StartGatewayAsync(configure: b => b.Services.AddLlmGateway().AddHook(new AppOnlyHook()));

        await PostAsync(Chat("App question"), key: "alice-key");
        var other = await PostAsync(Chat("App question"), key: "bob-key");

        Assert.Equal("bypass", CacheHeader(other.Headers));
        Assert.Equal(2, UpstreamChats);
    }

    private sealed class AppOnlyHook : LlmGatewayHook
    {
        public override ValueTask OnRequestAsync(LlmRequestContext context, CancellationToken cancellationToken)
        {
            context.Caller = new LlmCallerIdentity { App = "reports" };
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task KeysOfOneTeamShareEntries()
    {
        await _gateway.DisposeAsync();
        _gateway = await StartGatewayAsync(configure: b => b.Services.AddLlmGateway().AddHook(new TeamHook()));

        await PostAsync(Chat("Team question"), key: "alice-key");
        var teammate = await PostAsync(Chat("Team question"), key: "bob-key");
        var outsider = await PostAsync(Chat("Team question"), key: "mallory-key");

        Assert.Equal("hit-exact", CacheHeader(teammate.Headers));
        Assert.Equal("miss", CacheHeader(outsider.Headers));
    }

    private sealed class TeamHook : LlmGatewayHook
    {
        public override ValueTask OnRequestAsync(LlmRequestContext context, CancellationToken cancellationToken)
        {
            var key = context.HttpContext.Request.Headers["x-api-key"].ToString();
            context.Caller = new LlmCallerIdentity { Key = key, Team = key is "alice-key" or "bob-key" ? "blue" : "red" };
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task NoStoreBypassesTheCacheAndNoCacheRefreshesIt()
    {
        var noStore = await PostAsync(Chat("Directives"), cacheControl: "no-store");
        var afterNoStore = await PostAsync(Chat("Directives"));
        var noCache = await PostAsync(Chat("Directives"), cacheControl: "max-age=0, no-cache");
        var afterNoCache = await PostAsync(Chat("Directives"));

        Assert.Equal("bypass", CacheHeader(noStore.Headers));
        Assert.Equal("miss", CacheHeader(afterNoStore.Headers));
        Assert.Equal("bypass", CacheHeader(noCache.Headers));
        Assert.Equal("hit-exact", CacheHeader(afterNoCache.Headers));
        Assert.Equal(3, UpstreamChats);
    }

    [Fact]
    public async Task AnEndpointWithTheOffPolicyNeverCaches()
    {
        await PostAsync(Chat("Uncached"), prefix: "/off");
        var second = await PostAsync(Chat("Uncached"), prefix: "/off");

        Assert.False(second.Headers.Contains("x-llm-cache"));
        Assert.Equal(2, UpstreamChats);
    }

    [Fact]
    public async Task ANearDuplicateIsASemanticHitOnlyWhereThePolicyAllowsIt()
    {
        await PostAsync(Chat("What is the capital of France?"), prefix: "/semantic");
        var near = await PostAsync(Chat("what is the capital of France"), prefix: "/semantic");
        var unrelated = await PostAsync(Chat("How do I bake sourdough bread?"), prefix: "/semantic");
        await PostAsync(Chat("What is the capital of Spain?"));
        var exactOnly = await PostAsync(Chat("what is the capital of Spain"));

        Assert.Equal("hit-semantic", CacheHeader(near.Headers));
        Assert.Contains("Hello from openai: What is the capital of France?", near.Body);
        Assert.Equal("miss", CacheHeader(unrelated.Headers));
        Assert.Equal("miss", CacheHeader(exactOnly.Headers));
        var hit = await _sink.WaitForAsync(r => r.Cache == LlmCacheOutcome.HitSemantic);
        Assert.Equal(0m, hit.Cost);
        Assert.True(hit.SavedCost > 0);
    }

    [Fact]
    public async Task ARequestOfferingToolsIsASemanticHitOnlyWherethePolicyAllowsIt()
    {
        const string tools = ""","tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""";
        await PostAsync(Chat("What is the weather in Paris?", extra: tools), prefix: "/semantic");
        var near = await PostAsync(Chat("what is the weather in Paris", extra: tools), prefix: "/semantic");
        await PostAsync(Chat("What is the weather in Rome?", extra: tools), prefix: "/semantic-tools");
        var allowed = await PostAsync(Chat("what is the weather in Rome", extra: tools), prefix: "/semantic-tools");

        Assert.Equal("miss", CacheHeader(near.Headers));
        Assert.Equal("hit-semantic", CacheHeader(allowed.Headers));
    }

    [Fact]
    public async Task NoCacheRefreshesOnlyTheCallersOwnScope()
    {
        await PostAsync(Chat("Shared directive"), prefix: "/shared", key: "tenant-1");
        _upstream.Enqueue(new FakeFault { Text = "Fresh answer for tenant two" });
        var fresh = await PostAsync(Chat("Shared directive"), prefix: "/shared", key: "tenant-2", cacheControl: "no-cache");
        var later = await PostAsync(Chat("Shared directive"), prefix: "/shared", key: "tenant-3");

        Assert.Equal("bypass", CacheHeader(fresh.Headers));
        Assert.Contains("Fresh answer for tenant two", fresh.Body);
        Assert.Equal("hit-exact", CacheHeader(later.Headers));
        Assert.Contains("Hello from openai: Shared directive", later.Body);
    }

    [Theory]
    [InlineData(-0.01, "hit-semantic")]
    [InlineData(0.01, "miss")]
    public async Task TheSimilarityThresholdDecides(double offset, string expected)
    {
        const string stored = "Please summarize the quarterly sales report for the northern region";
        const string asked = "Please summarize the quarterly sales report for the southern region";
        var similarity = System.Numerics.Tensors.TensorPrimitives.Dot<float>(LlmLexicalEmbeddingGenerator.Embed(stored), LlmLexicalEmbeddingGenerator.Embed(asked));
        Assert.InRange(similarity, 0.6, 0.98);
        await _gateway.DisposeAsync();
        _gateway = await StartGatewayAsync(new() { ["LlmGateway:Cache:Policies:semantic:SimilarityThreshold"] = (similarity + offset).ToString(System.Globalization.CultureInfo.InvariantCulture) });

        await PostAsync(Chat(stored), prefix: "/semantic");
        var result = await PostAsync(Chat(asked), prefix: "/semantic");

        Assert.Equal(expected, CacheHeader(result.Headers));
    }

    [Fact]
    public async Task ToolResultsLongConversationsAndHighTemperaturesGetNoSemanticHits()
    {
        await PostAsync(Chat("Tell me about the weather in Paris"), prefix: "/semantic");
        var hot = await PostAsync(Chat("tell me about the weather in Paris", extra: ""","temperature":1.2"""), prefix: "/semantic");
        var longer = await PostAsync("""{"model":"gpt","max_tokens":64,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"tell me about the weather in Paris"}]}""", prefix: "/semantic");
        var toolResult = await PostAsync("""{"model":"gpt","max_tokens":64,"messages":[{"role":"user","content":"tell me about the weather in Paris"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"sunny"}]}""", prefix: "/semantic");
        var plain = await PostAsync(Chat("tell me about the weather in Paris!"), prefix: "/semantic");

        Assert.Equal("miss", CacheHeader(hot.Headers));
        Assert.Equal("miss", CacheHeader(longer.Headers));
        Assert.Equal("miss", CacheHeader(toolResult.Headers));
        Assert.Equal("hit-semantic", CacheHeader(plain.Headers));
    }

    [Fact]
    public async Task SemanticPartitionsKeepTenantsAndSystemPromptsApart()
    {
        await PostAsync(Chat("Explain recursion simply"), prefix: "/semantic", key: "tenant-1");
        var otherTenant = await PostAsync(Chat("explain recursion simply"), prefix: "/semantic", key: "tenant-2");
        var otherSystem = await PostAsync("""{"model":"gpt","max_tokens":64,"messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"explain recursion simply"}]}""", prefix: "/semantic", key: "tenant-1");
        var sameTenant = await PostAsync(Chat("explain recursion, simply"), prefix: "/semantic", key: "tenant-1");

        Assert.Equal("miss", CacheHeader(otherTenant.Headers));
        Assert.Equal("miss", CacheHeader(otherSystem.Headers));
        Assert.Equal("hit-semantic", CacheHeader(sameTenant.Headers));
    }

    [Fact]
    public async Task AConfiguredEmbeddingsModelEmbedsThroughTheGatewayAndIsMetered()
    {
        await _gateway.DisposeAsync();
        _gateway = await StartGatewayAsync(new() { ["LlmGateway:Cache:Semantic:EmbeddingModel"] = "openai/text-embedding-3-small" });

        await PostAsync(Chat("First wording"), prefix: "/semantic", key: "embedder");
        var second = await PostAsync(Chat("Second wording"), prefix: "/semantic", key: "embedder");

        // The fake embeds every text alike, so the second request is the first one's neighbour.
        Assert.Equal("hit-semantic", CacheHeader(second.Headers));
        Assert.Equal(2, _upstream.Calls.Count(c => c.Path.EndsWith("/embeddings", StringComparison.Ordinal)));
        Assert.Equal("text-embedding-3-small", _upstream.Calls.First(c => c.Path.EndsWith("/embeddings", StringComparison.Ordinal)).Body["model"]!.GetValue<string>());
        var embedding = await _sink.WaitForAsync(r => r.Operation == "embeddings");
        Assert.Equal(2, embedding.InputTokens);
        Assert.Equal("embedder", _sink.Records.First(r => r.Operation == "embeddings").Caller.Key is { } key && key.StartsWith("key_", StringComparison.Ordinal) ? "embedder" : "missing");
    }

    [Fact]
    public async Task AnUnknownPolicyNameOnAnEndpointIsAnErrorWhenEndpointsAreBuilt()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(
            _upstream,
            b => b.Services.AddLlmGateway(),
            app =>
            {
                app.MapLlmGateway("/typo").WithLlmCachePolicy("semantci");
                _ = ((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).ToList();
            },
            CacheSettings));

        Assert.Contains("unknown LLM cache policy 'semantci'", ex.ToString());
    }

    [Fact]
    public async Task InvalidCacheSettingsStopStartup()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => StartGatewayAsync(new() { ["LlmGateway:Cache:Policies:semantic:SimilarityThreshold"] = "1.5", ["LlmGateway:Cache:Policies:off:Mode"] = "Exact" }));

        Assert.Contains("LlmGateway:Cache:Policies:semantic", ex.ToString());
        Assert.Contains("reserved", ex.ToString());
    }
}
