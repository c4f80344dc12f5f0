using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Fallbacks, retries and cooldowns of model groups against fault-injecting fake upstreams.</summary>
public sealed class FallbackTests : GroupGatewayTestBase
{
    private readonly ObservedClock _time = new();

    protected override Dictionary<string, string?> Settings => new()
    {
        ["LlmGateway:FirstTokenTimeout"] = "00:00:02",
        ["LlmGateway:StreamIdleTimeout"] = "00:00:01",
        ["LlmGateway:Groups:chain:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:chain:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:chain:Deployments:1:Provider"] = "anthropic",
        ["LlmGateway:Groups:chain:Deployments:1:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:chain:MaxRetries"] = "0",
        ["LlmGateway:Groups:chain:Cooldown:MinimumThroughput"] = "2",
        ["LlmGateway:Groups:chain:Cooldown:Duration"] = "00:01:00",
        ["LlmGateway:Groups:retrying:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:retrying:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:retrying:Deployments:1:Provider"] = "gemini",
        ["LlmGateway:Groups:retrying:Deployments:1:Model"] = "gemini-2.5-flash",
        ["LlmGateway:Groups:retrying:MaxRetries"] = "2",
        ["LlmGateway:Groups:primary:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:primary:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:primary:MaxRetries"] = "0",
        ["LlmGateway:Groups:primary:Fallbacks:0"] = "secondary",
        ["LlmGateway:Groups:secondary:Deployments:0:Provider"] = "gemini",
        ["LlmGateway:Groups:secondary:Deployments:0:Model"] = "gemini-2.5-flash",
        ["LlmGateway:Groups:unreachable:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:unreachable:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:unreachable:Deployments:0:BaseUrl"] = "http://127.0.0.1:1/v1",
        ["LlmGateway:Groups:unreachable:Deployments:1:Provider"] = "anthropic",
        ["LlmGateway:Groups:unreachable:Deployments:1:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:unreachable:MaxRetries"] = "0",
    };

    protected override void ConfigureServices(WebApplicationBuilder builder) => builder.Services.AddSingleton<TimeProvider>(_time);

    protected override void ConfigureApp(WebApplication app)
    {
        app.MapLlmGateway();
        app.MapLlmDeploymentHealth();
    }

    public static TheoryData<int, string> Triggers => new()
    {
        { 429, """{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}""" },
        { 500, """{"error":{"message":"The server had an error","type":"server_error"}}""" },
        { 503, """{"error":{"message":"The engine is currently overloaded","type":"server_error"}}""" },
        { 529, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""" },
        { 400, """{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}""" },
        { 400, """{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"code":"content_filter"}}""" },
    };

    [Theory]
    [MemberData(nameof(Triggers))]
    public async Task FallsBackToTheNextDeploymentOnEachTrigger(int status, string body)
    {
        Upstream.Enqueue(new FakeFault { Status = status, Body = body });

        var (code, text, headers, context) = await ChatAsync("chain");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Contains("Hello from anthropic", text);
        Assert.Equal(["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"], context.Attempts.Select(a => a.Deployment));
        Assert.Equal(status, context.Attempts[0].StatusCode);
        Assert.Equal(LlmAttemptOutcome.Failed, context.Attempts[0].Outcome);
        Assert.Equal(LlmAttemptOutcome.Succeeded, context.Attempts[1].Outcome);
        Assert.Equal("anthropic", context.ProviderName);
        Assert.Equal("anthropic", headers.GetValues("x-llm-provider").Single());
        Assert.Equal("claude-sonnet-4-5", headers.GetValues("x-llm-model").Single());
        Assert.Equal("anthropic/claude-sonnet-4-5", headers.GetValues("x-llm-deployment").Single());
        Assert.Equal("2", headers.GetValues("x-llm-attempts").Single());
    }

    [Fact]
    public async Task OtherClientErrorsAreRelayedWithoutFallback()
    {
        Upstream.Enqueue(new FakeFault { Status = 400, Body = """{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature"}}""" });

        var (code, text, headers, context) = await ChatAsync("chain");

        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains("Invalid value for 'temperature'", text);
        Assert.Single(context.Attempts);
    }

    [Fact]
    public async Task ConnectionFailuresFallBack()
    {
        var (code, text, headers, context) = await ChatAsync("unreachable");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Contains("Hello from anthropic", text);
        Assert.Equal(502, context.Attempts[0].StatusCode);
    }

    [Fact]
    public async Task FallbackChainsContinueIntoOtherGroups()
    {
        Upstream.Enqueue(new FakeFault { Status = 503, Body = "{}" });

        var (code, text, headers, context) = await ChatAsync("primary");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Contains("Hello from gemini", text);
        Assert.Equal("secondary", context.Deployment!.Group);
    }

    [Fact]
    public async Task RetryAfterIsHonouredOnTheSameDeployment()
    {
        Upstream.ResetObservations();
        Upstream.Enqueue(new FakeFault { Status = 429, Body = "{}", Headers = { ["retry-after"] = "0" } });

        var (code, text, headers, context) = await ChatAsync("retrying");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Contains("Hello from openai", text);
        Assert.Single(context.Attempts);
        Assert.Equal(2, Upstream.Calls.Count(c => c.Provider == "openai"));
        Assert.Equal((1, 0), (context.Record!.Retries, context.Record.Fallbacks));
    }

    [Fact]
    public async Task ARetryAfterLongerThanAllowedMovesOnInsteadOfWaiting()
    {
        Upstream.ResetObservations();
        Upstream.Enqueue(new FakeFault { Status = 429, Body = "{}", Headers = { ["retry-after"] = "120" } });

        var (code, text, _, _) = await ChatAsync("retrying");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Contains("Hello from gemini", text);
        Assert.Single(Upstream.Calls, c => c.Provider == "openai");
    }

    [Fact]
    public async Task NoFallbackOnceTheResponseHasBegun()
    {
        Upstream.ResetObservations();
        Upstream.Enqueue(new FakeFault { BreakAfterEvents = 2 });

        var (code, text, headers, context) = await ChatAsync("chain", stream: true);

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.DoesNotContain("[DONE]", text);
        Assert.Single(context.Attempts);
        Assert.DoesNotContain(Upstream.Calls, c => c.Provider == "anthropic");
    }

    [Fact]
    public async Task CooldownIsEnteredAndLeft()
    {
        // Two failures out of two calls start the cooldown (each call then falls back and succeeds).
        Upstream.Enqueue(new FakeFault { Status = 503, Body = "{}" });
        await ChatAsync("chain");
        Upstream.Enqueue(new FakeFault { Status = 503, Body = "{}" });
        var (_, _, _, second) = await ChatAsync("chain");
        var openai = second.Attempts[0];
        Assert.Equal("openai/gpt-4o-mini", openai.Deployment);
        Assert.Equal(2, second.Attempts.Count);

        // Cooling down: the next call goes straight to the other deployment.
        Upstream.ResetObservations();
        var (_, cooled, _, third) = await ChatAsync("chain");
        Assert.Contains("Hello from anthropic", cooled);
        Assert.Single(third.Attempts);
        Assert.DoesNotContain(Upstream.Calls, c => c.Provider == "openai");
        using (var health = JsonDocument.Parse(await Http.GetStringAsync(Gateway.BaseUrl + "/llm/deployments")))
        {
            var openaiState = health.RootElement.GetProperty("deployments").EnumerateArray().First(d => d.GetProperty("group").GetString() == "chain" && d.GetProperty("provider").GetString() == "openai");
            Assert.Equal("cooling_down", openaiState.GetProperty("state").GetString());
            Assert.Equal(0, openaiState.GetProperty("in_flight").GetInt32());
        }

        using var coolingDown = Collect<int>("llm_gateway.deployment.cooling_down");
        coolingDown.RecordObservableInstruments();
        var gauges = coolingDown.GetMeasurementSnapshot().Select(m => ((string)m.Tags["llm_gateway.deployment"]!, m.Value)).ToList();
        Assert.Contains(("openai/gpt-4o-mini", 1), gauges);
        Assert.Contains(("anthropic/claude-sonnet-4-5", 0), gauges);

        // After the cooldown, a probe reaches the deployment again; its success ends the cooldown.
        _time.Advance(TimeSpan.FromMinutes(2));
        var (_, probed, _, fourth) = await ChatAsync("chain");
        Assert.Contains("Hello from openai", probed);
        Assert.Null(fourth.Deployment!.CoolingUntil);
    }

    /// <summary>
    /// Once the fake upstream holds back, moves the gateway's clock past a time limit and returns the call's result.
    /// A limit the gateway restarts before every read (<paramref name="restarted"/>, the idle limit) may be restarted
    /// just after a move, so it is moved again each time it is set anew until the call ends; any other limit was set
    /// before the request went out, so one move is exactly enough (more could expire the fallback's own limit).
    /// </summary>
    private async Task<T> AfterTheLimitAsync<T>(Task<T> call, FakeFault fault, TimeSpan limit, bool restarted = false)
    {
        await Task.WhenAny(fault.Holding.Task, call);
        _time.ForgetScheduled();
        _time.Advance(limit);
        while (restarted && !call.IsCompleted)
        {
            await Task.WhenAny(call, _time.ScheduledAsync(limit));
            _time.Advance(limit);
        }

        return await call;
    }

    [Fact]
    public async Task AFirstTokenTimeoutFallsBack()
    {
        var fault = new FakeFault { HoldUntil = new TaskCompletionSource().Task };
        Upstream.Enqueue(fault);

        var (code, text, _, context) = await AfterTheLimitAsync(ChatAsync("chain"), fault, TimeSpan.FromSeconds(2));

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Contains("Hello from anthropic", text);
        Assert.Equal(504, context.Attempts[0].StatusCode);
    }

    [Fact]
    public async Task AStreamWhoseFirstContentIsLateFallsBackWithinTheFirstTokenLimit()
    {
        // The headers and the opening chunk come at once; the text would come seconds later.
        var fault = new FakeFault { Provider = "openai", EventDelay = TimeSpan.FromMinutes(10) };
        Upstream.Enqueue(fault);

        var (code, text, _, context) = await AfterTheLimitAsync(ChatAsync("chain", stream: true), fault, TimeSpan.FromSeconds(2));

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("Hello from anthropic: hi", StreamText.JoinOpenAIContent(text));
        Assert.Equal(504, context.Attempts[0].StatusCode);
        Assert.Equal("anthropic", context.ProviderName);
    }

    [Fact]
    public async Task AnIdleStreamEndsWithATimeoutErrorNotACleanFinish()
    {
        // Content starts at once, then the stream stalls for longer than the idle limit.
        var fault = new FakeFault { EventDelay = TimeSpan.FromMinutes(10), DelayAfterEvents = 2 };
        Upstream.Enqueue(fault);

        var (code, text, _, context) = await AfterTheLimitAsync(ChatAsync("chain", stream: true), fault, TimeSpan.FromSeconds(1), restarted: true);

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Contains("sent nothing for 1 s", text);
        Assert.DoesNotContain("[DONE]", text);
        Assert.Equal(LlmErrorKind.Timeout, context.Error!.Kind);
    }

    [Fact]
    public async Task AttemptsFallbacksDurationsTokensAndCostAreMeteredAndTraced()
    {
        using var attemptsMetric = Collect<long>("llm_gateway.attempts");
        using var fallbacks = Collect<long>("llm_gateway.fallbacks");
        using var durations = Collect<double>("gen_ai.client.operation.duration");
        using var tokenUsage = Collect<long>("gen_ai.client.token.usage");
        using var costs = Collect<double>("llm_gateway.cost");
        var spans = new ConcurrentQueue<System.Diagnostics.Activity>();
        using var tracing = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "LlmMiddleware",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(tracing);
        Upstream.Enqueue(new FakeFault { Status = 503, Body = "{}" });

        var (_, _, _, context) = await ChatAsync("chain");

        Assert.Equal(["failed", "succeeded"], attemptsMetric.GetMeasurementSnapshot().Select(a => a.Tags["llm_gateway.attempt.outcome"]));
        Assert.Equal("openai/gpt-4o-mini", Assert.Single(fallbacks.GetMeasurementSnapshot()).Tags["llm_gateway.deployment"]);
        var duration = Assert.Single(durations.GetMeasurementSnapshot());
        Assert.Equal("anthropic", duration.Tags["gen_ai.provider.name"]);
        Assert.Equal("chat", duration.Tags["gen_ai.operation.name"]);
        var tokens = tokenUsage.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags["gen_ai.token.type"]!, m => m.Value);
        Assert.Equal(11, tokens["input"]);
        Assert.Equal(7, tokens["output"]);
        var cost = Assert.Single(costs.GetMeasurementSnapshot());
        Assert.Equal((double)0.0001299m, cost.Value, 12); // (8 x 3 + 3 x 0.30 + 7 x 15) / 1e6 at claude-sonnet-4-5's price
        Assert.Equal("claude-sonnet-4-5", cost.Tags["gen_ai.response.model"]);
        var span = Assert.Single(spans, s => s.DisplayName == "chat chain");
        Assert.Equal(2, span.Events.Count(e => e.Name == "llm_gateway.attempt"));
        Assert.Equal("anthropic/claude-sonnet-4-5", span.GetTagItem("llm_gateway.deployment"));

        // On the record, and in the traffic report (the dashboard's): one hand-over, on the way to the deployment that answered.
        Assert.Equal((0, 1), (context.Record!.Retries, context.Record.Fallbacks));
        var row = Assert.Single(await Gateway.Services.GetRequiredService<ILlmTrafficReport>().QueryAsync(null, null, default));
        Assert.Equal(("anthropic/claude-sonnet-4-5", 1L, 0L, 1L), (row.Deployment, row.Calls, row.Errors, row.Fallbacks));
        Assert.NotNull(row.LatencyP50Ms);
    }
}
