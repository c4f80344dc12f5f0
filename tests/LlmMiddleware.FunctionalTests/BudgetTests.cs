using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Budgets in money: a call is admitted only if its worst case fits (reserve), is charged what metering prices it at
/// (settle), and is refused before the provider when it does not fit — exact under concurrency, per period in the
/// configured time zone, free for cache hits, for every leg of a race and for what a cut stream delivered.
/// </summary>
public sealed class BudgetTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const string Alpha = "sk-llm-alpha-0123456789abcdef";
    private const string Beta = "sk-llm-beta-0123456789abcdefg";

    /// <summary>$1 per output token, input free: a call with <c>max_tokens</c> 10 reserves $10, and the fake's 7 output
    /// tokens cost $7.</summary>
    private static readonly LlmModelPricing DollarPerOutputToken = new() { Input = 0m, Output = 1_000_000m, Version = "test" };

    /// <summary>$1 per token in and out: a race loser, billed for its prompt, costs something.</summary>
    private static readonly LlmModelPricing DollarPerToken = new() { Input = 1_000_000m, Output = 1_000_000m, Version = "test" };

    private static readonly Dictionary<string, string?> Keys = new()
    {
        ["LlmGateway:VirtualKeys:Keys:alpha:Secret"] = Alpha,
        ["LlmGateway:VirtualKeys:Keys:alpha:Team"] = "research",
        ["LlmGateway:VirtualKeys:Keys:alpha:Tags:env"] = "dev",
        ["LlmGateway:VirtualKeys:Keys:beta:Secret"] = Beta,
        ["LlmGateway:VirtualKeys:Keys:beta:Team"] = "research",
        ["LlmGateway:Groups:race:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:race:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:race:Deployments:1:Provider"] = "anthropic",
        ["LlmGateway:Groups:race:Deployments:1:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:race:MaxRetries"] = "0",
        ["LlmGateway:Groups:race:Race:Attempts"] = "2",
        ["LlmGateway:Groups:race:Race:Delay"] = "00:00:00",
    };

    private readonly RecordingHook _completed = new();
    private readonly CollectingSink _sink = new();

    private Task<GatewayHost> StartAsync(Action<LlmBudgetOptions> budgets, TimeProvider? time = null, IDictionary<string, string?>? settings = null, Action<ILlmGatewayBuilder>? configure = null) =>
        GatewayHost.StartAsync(fixture.Upstream, b =>
        {
            if (time is not null)
            {
                b.Services.AddSingleton(time);
            }

            var gateway = b.Services.AddLlmGateway().AddVirtualKeys().AddBudgets(budgets).AddHook(_completed)
                .SetPrice("openai", "gpt-4o-mini", DollarPerOutputToken).SetPrice("anthropic", "claude-sonnet-4-5", DollarPerToken);
            b.Services.AddSingleton<ILlmCallRecordSink>(_sink);
            configure?.Invoke(gateway);
        }, null, settings is null ? Keys : new Dictionary<string, string?>(Keys).Concat(settings).ToDictionary());

    [Fact]
    public async Task AHundredConcurrentCallsAgainstABudgetForTenAdmitTenAndNoneReachesTheProviderPastIt()
    {
        await using var gateway = await StartAsync(o => o.Add(LlmBudgetScope.Key, "alpha", 100m, LlmBudgetPeriod.Daily));
        var budgets = gateway.Services.GetRequiredService<LlmBudgets>();
        var release = new TaskCompletionSource();
        for (var i = 0; i < 10; i++)
        {
            fixture.Upstream.Enqueue(new FakeFault { Provider = "openai", HoldUntil = release.Task });
        }

        var before = fixture.Upstream.Calls.Count;
        var calls = Enumerable.Range(0, 100).Select(i => PostAsync(gateway, Chat($"concurrent {i}"), Alpha)).ToList();
        await fixture.Upstream.WaitForCallsAsync(c => c.Count() >= before + 10, "Ten calls did not reach the provider.");
        while (calls.Count(c => c.IsCompleted) < 90)
        {
            await Task.WhenAny(calls.Where(c => !c.IsCompleted));
        }

        var held = Assert.Single((await budgets.StatusAsync(LlmBudgetScope.Key, "alpha")));
        Assert.Equal((0m, 100m), (held.Spent, held.Reserved)); // ten worst cases of $10 held, nothing more
        release.SetResult();
        var results = await Task.WhenAll(calls);

        Assert.Equal(10, results.Count(r => r.Status == HttpStatusCode.OK));
        var refused = results.Where(r => r.Status != HttpStatusCode.OK).ToList();
        Assert.Equal(90, refused.Count);
        Assert.All(refused, r => Assert.Equal((HttpStatusCode.TooManyRequests, "budget_exceeded"), (r.Status, r.Json.GetProperty("error").GetProperty("code").GetString())));
        Assert.Equal(before + 10, fixture.Upstream.Calls.Count);
        await _sink.WaitForAsync(r => r.Caller.Key == "alpha", 100);
        var settled = Assert.Single((await budgets.StatusAsync(LlmBudgetScope.Key, "alpha")));
        Assert.Equal((70m, 0m), (settled.Spent, settled.Reserved)); // each charged its metered $7, the rest released
        Assert.Equal(70m, _sink.Records.Sum(r => r.Cost ?? 0m));
        Assert.Equal(90, _sink.Records.Count(r => r.ErrorCode == LlmErrorCodes.BudgetExceeded && r.Cost == 0m));
    }

    [Fact]
    public async Task ACallThatDoesNotFitIsRefusedInEachSdksOwnShapeBeforeTheProvider()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 22, 0, 0, TimeSpan.Zero));
        await using var gateway = await StartAsync(o => o.Add(LlmBudgetScope.Team, "research", 5m, LlmBudgetPeriod.Daily), time);
        var before = fixture.Upstream.Calls.Count;

        var openai = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, Alpha).CompleteChatAsync([new UserChatMessage("too dear")], new ChatCompletionOptions { MaxOutputTokenCount = 10 }));
        var anthropic = await Assert.ThrowsAsync<AnthropicRateLimitException>(() => new AnthropicClient { ApiKey = Beta, BaseUrl = gateway.BaseUrl, MaxRetries = 0 }
            .Messages.Create(new MessageCreateParams { Model = "claude", MaxTokens = 10, Messages = [new UserMessageParam("too dear")] }));
        var (status, json, headers) = await PostAsync(gateway, Chat("too dear"), Alpha);
        var fits = await PostAsync(gateway, Chat("cheap enough", maxTokens: 5), Alpha);

        Assert.Equal(429, openai.Status);
        Assert.Contains("budget_exceeded", openai.Message, StringComparison.Ordinal);
        Assert.Contains("rate_limit_error", anthropic.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        var message = json.GetProperty("error").GetProperty("message").GetString();
        Assert.Contains("team 'research'", message, StringComparison.Ordinal);
        Assert.Contains("daily budget of 5 USD", message, StringComparison.Ordinal);
        Assert.Equal("7200", headers.GetValues("retry-after").Single()); // two hours to midnight UTC
        Assert.Equal(HttpStatusCode.OK, fits.Status); // $5 reserved: exactly what is left
        Assert.Equal(before + 1, fixture.Upstream.Calls.Count);
    }

    [Fact]
    public async Task ADailyBudgetStartsOverAtMidnightInItsTimeZone()
    {
        // 03:30 UTC on 10 March 2026 is 23:30 on the 9th in New York (EDT since the 8th).
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 3, 30, 0, TimeSpan.Zero));
        await using var gateway = await StartAsync(o => o.Add(LlmBudgetScope.Key, "alpha", 10m, LlmBudgetPeriod.Daily).TimeZone = "America/New_York", time);
        var budgets = gateway.Services.GetRequiredService<LlmBudgets>();

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(gateway, Chat("late evening"), Alpha)).Status);
        await _completed.Changes.UntilAsync(() => _completed.Completed.Count >= 1, "The call did not complete.");
        var refused = await PostAsync(gateway, Chat("still the same day"), Alpha);
        time.Advance(TimeSpan.FromMinutes(30));
        var nextDay = await PostAsync(gateway, Chat("a new day in New York"), Alpha);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        Assert.Equal("1800", refused.Headers.GetValues("retry-after").Single());
        Assert.Equal(HttpStatusCode.OK, nextDay.Status);
        await _completed.Changes.UntilAsync(() => _completed.Completed.Count >= 3, "The calls did not complete.");
        var status = Assert.Single((await budgets.StatusAsync(LlmBudgetScope.Key, "alpha")));
        Assert.Equal((7m, new DateTimeOffset(2026, 3, 10, 4, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 11, 4, 0, 0, TimeSpan.Zero)), (status.Spent, status.PeriodStart, status.ResetsAt!.Value));
    }

    [Fact]
    public async Task SoftLimitsAreRaisedOncePerThresholdToHooksLogsAndMetrics()
    {
        var hook = new AlertHook();
        await using var gateway = await StartAsync(o => o.Add(LlmBudgetScope.Tag, "env=dev", 21m, LlmBudgetPeriod.Monthly, 0.3, 0.6), configure: g => g.Services.AddSingleton<LlmBudgetHook>(hook));
        using var alerts = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(gateway.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "LlmMiddleware", "llm_gateway.budget.alerts");

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(gateway, Chat($"spend {i}", maxTokens: 7), Alpha)).Status);
            await _completed.Changes.UntilAsync(() => _completed.Completed.Count > i, "The call did not complete.");
        }

        await hook.Changes.UntilAsync(() => hook.Alerts.Count >= 3, "Three alerts were not raised.");
        Assert.Equal(new[] { 0.3, 0.6, 1.0 }, hook.Alerts.Select(a => a.Threshold).Order()); // $7, $14, $21 of $21: each threshold once
        Assert.All(hook.Alerts, a => Assert.Equal((LlmBudgetScope.Tag, "env=dev"), (a.Status.Budget.Scope, a.Status.Subject)));
        Assert.Equal(21m, hook.Alerts.Max(a => a.Status.Spent));
        Assert.Equal(3, alerts.GetMeasurementSnapshot().Count);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await PostAsync(gateway, Chat("spent", maxTokens: 1), Alpha)).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(gateway, Chat("another tag", maxTokens: 1), Beta)).Status); // beta has no env tag
    }

    [Fact]
    public async Task CacheHitsCostNothingAndAreServedEvenWhenTheBudgetCouldNotHoldACall()
    {
        await using var gateway = await StartAsync(o => o.Add(LlmBudgetScope.Key, "alpha", 15m, LlmBudgetPeriod.Total), settings: new Dictionary<string, string?> { ["LlmGateway:Cache:Mode"] = "Exact" });
        var budgets = gateway.Services.GetRequiredService<LlmBudgets>();

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(gateway, Chat("cache me"), Alpha)).Status);
        await _completed.Changes.UntilAsync(() => _completed.Completed.Count >= 1, "The call did not complete.");
        var hit = await PostAsync(gateway, Chat("cache me"), Alpha);
        var miss = await PostAsync(gateway, Chat("not cached"), Alpha);

        Assert.Equal(HttpStatusCode.OK, hit.Status);
        Assert.Equal("0", hit.Headers.GetValues("x-llm-cost-usd").Single());
        Assert.Equal(HttpStatusCode.TooManyRequests, miss.Status); // $8 left, a call may cost $10
        Assert.False(miss.Headers.Contains("retry-after")); // a total budget never starts over
        Assert.Equal(7m, Assert.Single((await budgets.StatusAsync(LlmBudgetScope.Key, "alpha"))).Spent);
    }

    [Fact]
    public async Task AStreamCutMidWayIsChargedWhatItDelivered()
    {
        await using var gateway = await StartAsync(o => o.Add(LlmBudgetScope.Key, "alpha", 100m));
        fixture.Upstream.Enqueue(new FakeFault { Provider = "openai", BreakAfterEvents = 3 });

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in Sdks.OpenAI(gateway, Alpha).CompleteChatStreamingAsync([new UserChatMessage("a stream that breaks after a few words of output")], new ChatCompletionOptions { MaxOutputTokenCount = 10 }))
            {
            }
        });

        var record = await _sink.WaitForAsync(r => r.Caller.Key == "alpha");
        Assert.Equal(LlmCallStatus.StreamBroken, record.Status);
        Assert.True(record.Cost > 0m); // the delivered words, counted
        var settled = Assert.Single(await gateway.Services.GetRequiredService<LlmBudgets>().StatusAsync(LlmBudgetScope.Key, "alpha"));
        Assert.Equal((record.Cost!.Value, 0m), (settled.Spent, settled.Reserved));
    }

    [Fact]
    public async Task ARaceReservesForEveryLegAndSettlesEachOne()
    {
        await using var gateway = await StartAsync(o => o.Add(LlmBudgetScope.Key, "alpha", 1000m));
        var budgets = gateway.Services.GetRequiredService<LlmBudgets>();
        var openaiAnswers = new TaskCompletionSource();
        fixture.Upstream.Enqueue(new FakeFault { Provider = "openai", HoldUntil = openaiAnswers.Task });
        var slow = new FakeFault { Provider = "anthropic", AfterCallTo = "openai", HoldUntil = new TaskCompletionSource().Task };
        fixture.Upstream.Enqueue(slow);

        var racing = PostAsync(gateway, Chat("race me", model: "race"), Alpha);
        await slow.Holding.Task; // both legs are in flight
        var held = Assert.Single((await budgets.StatusAsync(LlmBudgetScope.Key, "alpha")));
        openaiAnswers.SetResult(); // openai wins; anthropic is cancelled and billed for its prompt
        var (status, _, _) = await racing;

        Assert.Equal(HttpStatusCode.OK, status);
        var loser = await _sink.WaitForAsync(r => r.Role == LlmCallRole.RaceLoser);
        var winner = await _sink.WaitForAsync(r => r.Role == LlmCallRole.RaceWinner);
        Assert.True(loser.Cost > 0m);
        // Each leg's worst case is the priciest deployment's: claude's prompt at $1 a token and 10 output tokens.
        Assert.Equal((0m, 2 * (loser.InputTokens + 10m)), (held.Spent, held.Reserved));
        var settled = Assert.Single((await budgets.StatusAsync(LlmBudgetScope.Key, "alpha")));
        Assert.Equal((winner.Cost!.Value + loser.Cost!.Value, 0m), (settled.Spent, settled.Reserved));
    }

    [Fact]
    public async Task BudgetsChangeAtRunTimeAndASubjectsOwnBudgetOverridesItsScopesDefault()
    {
        await using var gateway = await StartAsync(o => o.Add(LlmBudgetScope.Key, "*", 5m, LlmBudgetPeriod.Daily).Add(LlmBudgetScope.Key, "alpha", 50m, LlmBudgetPeriod.Daily));
        var budgets = gateway.Services.GetRequiredService<LlmBudgets>();

        var alpha = await PostAsync(gateway, Chat("alpha has its own"), Alpha);
        var beta = await PostAsync(gateway, Chat("beta has the default"), Beta);
        await budgets.SetAsync(new LlmBudget { Scope = LlmBudgetScope.Key, Subject = "*", Limit = 10m, Period = LlmBudgetPeriod.Daily });
        var betaRaised = await PostAsync(gateway, Chat("beta, raised"), Beta);
        Assert.True(await budgets.RemoveAsync(LlmBudgetScope.Key, "alpha", LlmBudgetPeriod.Daily));
        await _completed.Changes.UntilAsync(() => _completed.Completed.Count >= 3, "The calls did not complete.");
        var alphaNowDefault = await PostAsync(gateway, Chat("alpha, on the default now"), Alpha);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.OK), (alpha.Status, beta.Status, betaRaised.Status));
        Assert.Equal(HttpStatusCode.TooManyRequests, alphaNowDefault.Status); // $7 spent today of the default $10
        Assert.Equal(new[] { 10m }, budgets.List().Select(b => b.Limit));
        await Assert.ThrowsAsync<System.ComponentModel.DataAnnotations.ValidationException>(() => budgets.SetAsync(new LlmBudget { Subject = "", Limit = 1m }).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => budgets.SetAsync(new LlmBudget { Subject = "x", Limit = 1m, SoftLimits = [1.5] }).AsTask());
    }

    [Fact]
    public async Task AStartUpWithBudgetsTheyCannotSettleOrABadTimeZoneFails()
    {
        var omitted = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddBudgets().ConfigurePipeline(p => p.UseMetering().UseResponseCache())));
        var unmetered = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddBudgets().ConfigurePipeline(p => p.UseBudgets().UseMetering())));
        var zone = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddBudgets(), null, new Dictionary<string, string?>
        {
            ["LlmGateway:Budgets:TimeZone"] = "Mars/Olympus_Mons",
            ["LlmGateway:Budgets:Rules:0:Subject"] = "team-a",
            ["LlmGateway:Budgets:Rules:0:Limit"] = "-1",
            ["LlmGateway:Budgets:Rules:0:SoftLimits:0"] = "2",
        }));

        Assert.Contains("leaves out UseBudgets()", omitted.Message, StringComparison.Ordinal);
        Assert.Contains("put UseMetering() before it", unmetered.Message, StringComparison.Ordinal);
        Assert.Contains("'Mars/Olympus_Mons' is not a time zone", zone.Message, StringComparison.Ordinal);
        Assert.Contains("Rules:0: The field Limit must be between", zone.Message, StringComparison.Ordinal);
        Assert.Contains("Rules:0:SoftLimits", zone.Message, StringComparison.Ordinal);
    }

    private static string Chat(string text, int maxTokens = 10, bool stream = false, string model = "gpt") =>
        JsonSerializer.Serialize(new { model, max_tokens = maxTokens, stream, messages = new[] { new { role = "user", content = text } } });

    private async Task<(HttpStatusCode Status, JsonElement Json, HttpResponseHeaders Headers)> PostAsync(GatewayHost gateway, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return (response.StatusCode, json, response.Headers);
    }

    private sealed class AlertHook : LlmBudgetHook
    {
        public List<LlmBudgetAlert> Alerts { get; } = [];

        public Changes Changes { get; } = new();

        public override ValueTask OnSoftLimitAsync(LlmBudgetAlert alert, CancellationToken cancellationToken)
        {
            lock (Alerts)
            {
                Alerts.Add(alert);
            }

            Changes.Notify();
            return ValueTask.CompletedTask;
        }
    }
}
