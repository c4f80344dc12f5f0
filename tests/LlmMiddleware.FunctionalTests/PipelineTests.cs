using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests;

/// <summary>The LLM call pipeline: host stages in order around the router, next to the built-in metering, hooks and
/// response cache, which a host can reorder or leave out.</summary>
public sealed class PipelineTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly Dictionary<string, string?> ExactCache = new() { ["LlmGateway:Cache:Mode"] = "Exact" };

    /// <summary>Where a call comes in: a gateway endpoint, a YARP route on a model group, or a YARP route on one provider
    /// with <c>UseLlmPipeline()</c>. The pipeline must behave the same on each.</summary>
    public enum Surface
    {
        Endpoint,
        YarpGroup,
        YarpProvider,
    }

    [Theory]
    [InlineData(Surface.Endpoint)]
    [InlineData(Surface.YarpGroup)]
    [InlineData(Surface.YarpProvider)]
    public async Task StagesRunFirstRegisteredOutermostAroundTheRouterAfterTheRouteIsResolved(Surface surface)
    {
        var trace = new ConcurrentQueue<string>();
        var (gateway, path) = await StartAsync(surface, gateway => gateway
            .AddStage(Tracing("a", trace), editsRequest: false)
            .AddStage(async (context, next, cancellationToken) =>
            {
                trace.Enqueue($"b> {context.ProviderName}/{context.UpstreamModel}");
                await next(context, cancellationToken);
                trace.Enqueue($"<b {context.UpstreamStatusCode}");
            }, editsRequest: false));
        await using var _ = gateway;

        var (status, _) = await AskAsync(gateway, path, Chat("gpt", "order"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["a>", "b> openai/gpt-4o-mini", "<b 200", "<a"], trace);
    }

    [Theory]
    [InlineData(Surface.Endpoint)]
    [InlineData(Surface.YarpGroup)]
    [InlineData(Surface.YarpProvider)]
    public async Task ARefusingStageIsAnsweredInTheCallersProtocolAndRecordedOnEverySurface(Surface surface)
    {
        var hook = new CompletionHook();
        var (gateway, path) = await StartAsync(surface, gateway => gateway.AddHook(hook)
            .AddStage((_, _, _) => throw new LlmGatewayException(new LlmError(LlmErrorKind.Permission, "Over budget.", 403) { Code = "budget_exceeded" })));
        await using var _ = gateway;

        var (status, json) = await AskAsync(gateway, path, Chat("gpt", "refuse me"));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("budget_exceeded", json.GetProperty("error").GetProperty("code").GetString()); // OpenAI's error shape
        Assert.Equal("budget_exceeded", Assert.Single(hook.Records).ErrorCode);
    }

    [Theory]
    [InlineData(Surface.Endpoint)]
    [InlineData(Surface.YarpGroup)]
    [InlineData(Surface.YarpProvider)]
    public async Task VirtualKeysGuardEverySurfaceAndTheKeyIsWhoTheCallIsRecordedFor(Surface surface)
    {
        var hook = new CompletionHook();
        var (gateway, path) = await StartAsync(surface, gateway => gateway.AddHook(hook)
            .AddVirtualKeys(o => o.Keys["edge"] = new LlmConfiguredKey { Secret = "sk-llm-edge-key-0123456789", Team = "edge-team" }));
        await using var _ = gateway;
        var before = fixture.Upstream.Calls.Count;

        var (refused, json) = await AskAsync(gateway, path, Chat("gpt", "no key"));
        var unknown = await AskAsync(gateway, path, Chat("gpt", "wrong key"), "sk-llm-wrong");
        var refusedUpstream = fixture.Upstream.Calls.Count - before;
        var (allowed, _) = await AskAsync(gateway, path, Chat("gpt", "with key"), "sk-llm-edge-key-0123456789");

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.OK), (refused, unknown.Status, allowed));
        Assert.Equal("invalid_api_key", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(0, refusedUpstream);
        var record = Assert.Single(hook.Records); // hooks run inside the key check: refused calls never reach them
        Assert.Equal(("edge", "edge-team"), (record.Caller.Key, record.Caller.Team));
    }

    [Theory]
    [InlineData(Surface.Endpoint)]
    [InlineData(Surface.YarpGroup)]
    [InlineData(Surface.YarpProvider)]
    public async Task BudgetsAndRateLimitsGovernEverySurface(Surface surface)
    {
        const string Broke = "sk-llm-broke-key-0123456789", Busy = "sk-llm-busy-key-01234567890";
        var (gateway, path) = await StartAsync(surface, gateway =>
        {
            gateway.Services.AddSingleton<TimeProvider>(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 0, 30, TimeSpan.Zero)));
            gateway.AddVirtualKeys(o => (o.Keys["broke"], o.Keys["busy"]) = (new LlmConfiguredKey { Secret = Broke }, new LlmConfiguredKey { Secret = Busy }))
                .AddBudgets(o => o.Add(LlmBudgetScope.Key, "broke", 0m, LlmBudgetPeriod.Total))
                .AddRateLimits(o => o.Add(LlmRateLimitScope.Key, "busy", requestsPerMinute: 1));
        });
        await using var _ = gateway;
        var before = fixture.Upstream.Calls.Count;

        var (broke, brokeJson) = await AskAsync(gateway, path, Chat("gpt", "over budget"), Broke);
        var (first, _) = await AskAsync(gateway, path, Chat("gpt", "first this minute"), Busy);
        var (second, secondJson) = await AskAsync(gateway, path, Chat("gpt", "second this minute"), Busy);

        Assert.Equal((HttpStatusCode.TooManyRequests, "budget_exceeded"), (broke, brokeJson.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal(HttpStatusCode.OK, first);
        Assert.Equal((HttpStatusCode.TooManyRequests, "rate_limit_exceeded"), (second, secondJson.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal(before + 1, fixture.Upstream.Calls.Count);
    }

    /// <summary>A gateway reached through <paramref name="surface"/>, configured by <paramref name="configure"/>; the chat path.</summary>
    private async Task<(GatewayHost Host, string Path)> StartAsync(Surface surface, Action<ILlmGatewayBuilder> configure)
    {
        if (surface == Surface.Endpoint)
        {
            return (await GatewayHost.StartAsync(fixture.Upstream, b => configure(b.Services.AddLlmGateway())), "/v1/chat/completions");
        }

        var route = surface == Surface.YarpGroup ? "Llm.Group" : "Llm.Provider";
        var settings = new Dictionary<string, string?>
        {
            ["LlmGateway:Groups:g:Deployments:0:Provider"] = "openai",
            ["LlmGateway:Groups:g:Deployments:0:Model"] = "gpt-4o-mini",
            ["ReverseProxy:Routes:llm:ClusterId"] = "openai",
            ["ReverseProxy:Routes:llm:Match:Path"] = "/edge/v1/chat/completions",
            ["ReverseProxy:Routes:llm:Metadata:Llm.InboundProtocol"] = "openai",
            ["ReverseProxy:Routes:llm:Metadata:" + route] = surface == Surface.YarpGroup ? "g" : "openai",
            ["ReverseProxy:Clusters:openai:Destinations:d1:Address"] = fixture.Upstream.BaseUrl + "/openai/v1",
        };
        if (surface == Surface.YarpProvider)
        {
            settings["ReverseProxy:Routes:llm:Metadata:Llm.Model"] = "gpt-4o-mini";
        }

        var host = await GatewayHost.StartAsync(
            fixture.Upstream,
            b =>
            {
                b.Services.AddReverseProxy().LoadFromConfig(b.Configuration.GetSection("ReverseProxy")).AddLlmTransforms();
                configure(b.Services.AddLlmGateway());
            },
            app => app.MapReverseProxy(proxy =>
            {
                proxy.UseLlmPipeline();
                proxy.UseLoadBalancing();
            }),
            settings);
        return (host, "/edge/v1/chat/completions");
    }

    [Fact]
    public async Task AHostStageSitsBetweenTheCacheAndTheRouterByDefault()
    {
        var reached = 0;
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddStage((context, next, cancellationToken) =>
        {
            Interlocked.Increment(ref reached);
            return next(context, cancellationToken);
        }, editsRequest: false), settings: ExactCache);
        var body = Chat("gpt", "cached once " + Guid.NewGuid());

        var first = await AskWithCacheAsync(gateway, body);
        var second = await AskWithCacheAsync(gateway, body);

        Assert.Equal(("miss", "hit-exact"), (first, second));
        Assert.Equal(1, reached); // the hit never reached the stage
    }

    [Fact]
    public async Task AStageRefusalIsAnsweredInTheCallersProtocolRecordedAndSeenByTheStagesAndHooksAroundIt()
    {
        var hook = new CompletionHook();
        LlmError? seenOutside = null;
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddHook(hook)
            .ConfigurePipeline(p => p.UseMetering().Use(async (context, next, cancellationToken) =>
            {
                await next(context, cancellationToken);
                seenOutside = context.Error;
            }, editsRequest: false).UseHooks().UseResponseCache())
            .AddStage((_, _, _) => throw new LlmGatewayException(new LlmError(LlmErrorKind.Permission, "Over budget.", 403) { Code = "budget_exceeded" })));
        var before = fixture.Upstream.Calls.Count;

        var (status, json) = await AskAsync(gateway, "/v1/messages", """{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"refuse me"}]}""");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("error", json.GetProperty("type").GetString()); // Anthropic's error shape
        Assert.Equal("permission_error", json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("budget_exceeded", seenOutside?.Code);
        var record = Assert.Single(hook.Records);
        Assert.Equal("budget_exceeded", record.ErrorCode);
        Assert.Equal(before, fixture.Upstream.Calls.Count);
    }

    [Fact]
    public async Task APipelineWithoutTheCacheOrMeteringHasNeither()
    {
        var hook = new CompletionHook();
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddHook(hook)
            .ConfigurePipeline(p => p.UseHooks()), settings: ExactCache);
        var body = Chat("gpt", "never cached " + Guid.NewGuid());

        var first = await AskWithCacheAsync(gateway, body);
        var second = await AskWithCacheAsync(gateway, body);

        Assert.Equal((null, null), (first, second));
        Assert.Equal(2, hook.Completed);
        Assert.Empty(hook.Records);
    }

    [Fact]
    public async Task AStagesEditReachesTheProviderAndCompletionCallbacksRunAfterMeteringInReverseOrder()
    {
        var order = new ConcurrentQueue<string>();
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddStage((context, next, cancellationToken) =>
        {
            context.Request.Temperature = 0.25;
            context.OnCompleted((c, _) => { order.Enqueue($"first registered, record {c.Record is not null}"); return ValueTask.CompletedTask; });
            context.OnCompleted((c, _) => { order.Enqueue("second registered"); return ValueTask.CompletedTask; });
            return next(context, cancellationToken);
        }));
        var marker = "edited " + Guid.NewGuid();

        var (status, _) = await AskAsync(gateway, "/v1/chat/completions", Chat("gpt", marker));

        Assert.Equal(HttpStatusCode.OK, status);
        var sent = fixture.Upstream.Calls.Single(c => c.Body.ToJsonString().Contains(marker, StringComparison.Ordinal));
        Assert.Equal(0.25, sent.Body["temperature"]!.GetValue<double>());
        Assert.Equal(["second registered", "first registered, record True"], order);
    }

    private static Func<LlmRequestContext, LlmCallDelegate, CancellationToken, ValueTask> Tracing(string name, ConcurrentQueue<string> trace) => async (context, next, cancellationToken) =>
    {
        trace.Enqueue(name + ">");
        await next(context, cancellationToken);
        trace.Enqueue("<" + name);
    };

    private static string Chat(string model, string text) => $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{text}}"}]}""";

    private async Task<(HttpStatusCode Status, JsonElement Json)> AskAsync(GatewayHost gateway, string path, string body, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await fixture.Http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    private async Task<string?> AskWithCacheAsync(GatewayHost gateway, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", "pipeline-test");
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.TryGetValues("x-llm-cache", out var values) ? values.Single() : null;
    }

    private sealed class CompletionHook : LlmGatewayHook
    {
        private int _completed;

        public ConcurrentQueue<LlmCallRecord> Records { get; } = new();

        public int Completed => Volatile.Read(ref _completed);

        public override ValueTask OnCompletedAsync(LlmRequestContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _completed);
            if (context.Record is { } record)
            {
                Records.Enqueue(record);
            }

            return ValueTask.CompletedTask;
        }
    }
}
