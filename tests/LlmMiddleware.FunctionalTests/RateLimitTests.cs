using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.RateLimiting;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Rate limits: requests and tokens per clock minute and calls at once, per key, team, tag, model and model group, plus
/// the host's own <see cref="PartitionedRateLimiter{TResource}"/>s; a refusal is a 429 in the caller's protocol with
/// <c>retry-after</c> before any provider call, and admitted calls carry OpenAI's <c>x-ratelimit-*</c> headers.
/// </summary>
public sealed class RateLimitTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const string Alpha = "sk-llm-alpha-0123456789abcdef";
    private const string Beta = "sk-llm-beta-0123456789abcdefg";

    private static readonly Dictionary<string, string?> Keys = new()
    {
        ["LlmGateway:VirtualKeys:Keys:alpha:Secret"] = Alpha,
        ["LlmGateway:VirtualKeys:Keys:alpha:Team"] = "research",
        ["LlmGateway:VirtualKeys:Keys:beta:Secret"] = Beta,
        ["LlmGateway:VirtualKeys:Keys:beta:Team"] = "research",
        ["LlmGateway:Groups:pool:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:pool:Deployments:0:Model"] = "gpt-4o-mini",
    };

    /// <summary>Half a minute into a clock minute: windows reset in 30 s.</summary>
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 10, 12, 0, 30, TimeSpan.Zero));
    private readonly RecordingHook _completed = new();

    private Task<GatewayHost> StartAsync(Action<LlmRateLimitOptions> limits, Action<ILlmGatewayBuilder>? configure = null) =>
        GatewayHost.StartAsync(fixture.Upstream, b =>
        {
            b.Services.AddSingleton<TimeProvider>(_time);
            var gateway = b.Services.AddLlmGateway().AddVirtualKeys().AddRateLimits(limits).AddHook(_completed);
            configure?.Invoke(gateway);
        }, null, Keys);

    [Fact]
    public async Task RequestsPerMinuteAreCountedPerClockMinuteAndRefusedInEachSdksOwnShape()
    {
        await using var gateway = await StartAsync(o => o.Add(LlmRateLimitScope.Key, "alpha", requestsPerMinute: 2));
        var before = fixture.Upstream.Calls.Count;

        var first = await PostAsync(gateway, Chat("one"), Alpha);
        var second = await PostAsync(gateway, Chat("two"), Alpha);
        var refused = await PostAsync(gateway, Chat("three"), Alpha);
        var openai = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, Alpha).CompleteChatAsync([new UserChatMessage("four")]));
        var anthropic = await Assert.ThrowsAsync<AnthropicRateLimitException>(() => new AnthropicClient { ApiKey = Alpha, BaseUrl = gateway.BaseUrl, MaxRetries = 0 }
            .Messages.Create(new MessageCreateParams { Model = "claude", MaxTokens = 10, Messages = [new UserMessageParam("five")] }));
        var otherKey = await PostAsync(gateway, Chat("another key"), Beta);
        _time.Advance(TimeSpan.FromSeconds(30));
        var nextMinute = await PostAsync(gateway, Chat("six"), Alpha);

        Assert.Equal((HttpStatusCode.OK, "2", "1", "30s"), (first.Status, Header(first, "x-ratelimit-limit-requests"), Header(first, "x-ratelimit-remaining-requests"), Header(first, "x-ratelimit-reset-requests")));
        Assert.Equal((HttpStatusCode.OK, "0"), (second.Status, Header(second, "x-ratelimit-remaining-requests")));
        Assert.Equal((HttpStatusCode.TooManyRequests, "rate_limit_exceeded", "30", "30000"), (refused.Status, refused.Json.GetProperty("error").GetProperty("code").GetString(), Header(refused, "retry-after"), Header(refused, "retry-after-ms")));
        Assert.Contains("key 'alpha': 2 requests per minute", refused.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(429, openai.Status);
        Assert.Contains("rate_limit_exceeded", openai.Message, StringComparison.Ordinal);
        Assert.Contains("rate_limit_error", anthropic.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, otherKey.Status);
        Assert.Equal((HttpStatusCode.OK, "1"), (nextMinute.Status, Header(nextMinute, "x-ratelimit-remaining-requests")));
        Assert.Equal(before + 4, fixture.Upstream.Calls.Count); // refusals never reach the provider
    }

    [Fact]
    public async Task TokensAreEstimatedAtAdmissionAndCorrectedToTheMeteredCount()
    {
        await using var gateway = await StartAsync(o => o.Add(LlmRateLimitScope.Team, "research", tokensPerMinute: 100));

        var first = await PostAsync(gateway, Chat("count me", maxTokens: 40), Alpha);
        await _completed.Changes.UntilAsync(() => _completed.Completed.Count >= 1, "The call did not complete.");
        var second = await PostAsync(gateway, Chat("count me", maxTokens: 40), Beta); // same team, same estimate
        await _completed.Changes.UntilAsync(() => _completed.Completed.Count >= 2, "The call did not complete.");
        var tooBig = await PostAsync(gateway, Chat("count me", maxTokens: 90), Alpha);

        var estimate = 100 - long.Parse(Header(first, "x-ratelimit-remaining-tokens")!);
        Assert.True(estimate > 40, $"estimate {estimate}"); // the prompt as counted plus max_tokens
        // The first call was settled at the fake's 18 metered tokens (11 in, 7 out) before the second took its estimate.
        Assert.Equal(100 - 18 - estimate, long.Parse(Header(second, "x-ratelimit-remaining-tokens")!));
        Assert.Equal(HttpStatusCode.TooManyRequests, tooBig.Status);
        Assert.Contains("team 'research': 100 tokens per minute", tooBig.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("100", Header(tooBig, "x-ratelimit-limit-tokens"));
    }

    [Fact]
    public async Task ConcurrentCallsAreLimitedUntilEachEnds()
    {
        await using var gateway = await StartAsync(o => o.Add(LlmRateLimitScope.Key, "alpha", maxConcurrentRequests: 1));
        var release = new TaskCompletionSource();
        var hold = new FakeFault { Provider = "openai", HoldUntil = release.Task };
        fixture.Upstream.Enqueue(hold);

        var inFlight = PostAsync(gateway, Chat("in flight"), Alpha);
        await hold.Holding.Task;
        var refused = await PostAsync(gateway, Chat("at once"), Alpha);
        var otherKey = await PostAsync(gateway, Chat("not limited"), Beta);
        release.SetResult();
        var done = await inFlight;
        await _completed.Changes.UntilAsync(() => _completed.Completed.Count >= 3, "The calls did not complete.");
        var after = await PostAsync(gateway, Chat("after"), Alpha);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        Assert.Contains("1 requests at once", refused.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK), (otherKey.Status, done.Status, after.Status));
    }

    [Fact]
    public async Task ModelAndGroupLimitsCountEveryCallerAndASubjectsOwnLimitOverridesItsScopesDefault()
    {
        await using var gateway = await StartAsync(o => o
            .Add(LlmRateLimitScope.Model, "gpt", requestsPerMinute: 1)
            .Add(LlmRateLimitScope.Group, "pool", requestsPerMinute: 1)
            .Add(LlmRateLimitScope.Key, "*", requestsPerMinute: 2)
            .Add(LlmRateLimitScope.Key, "alpha", requestsPerMinute: 5));
        var limits = gateway.Services.GetRequiredService<LlmRateLimits>();

        var gptAlpha = await PostAsync(gateway, Chat("gpt, alpha"), Alpha);
        var gptBeta = await PostAsync(gateway, Chat("gpt, beta"), Beta);
        var poolBeta = await PostAsync(gateway, Chat("pool, beta", model: "pool"), Beta);
        var poolAlpha = await PostAsync(gateway, Chat("pool, alpha", model: "pool"), Alpha);
        var claudeBeta = await PostAsync(gateway, Chat("claude, beta", model: "claude"), Beta);
        var claudeBetaAgain = await PostAsync(gateway, Chat("claude, beta again", model: "claude"), Beta); // the default allows beta two
        var claudeAlpha = await PostAsync(gateway, Chat("claude, alpha", model: "claude"), Alpha);
        await limits.SetAsync(new LlmRateLimit { Scope = LlmRateLimitScope.Key, Subject = "*", RequestsPerMinute = 10 });
        Assert.True(await limits.RemoveAsync(LlmRateLimitScope.Model, "gpt"));
        var raised = await PostAsync(gateway, Chat("claude, beta, raised", model: "claude"), Beta);
        var gptAgain = await PostAsync(gateway, Chat("gpt, no model limit now"), Beta);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.TooManyRequests), (gptAlpha.Status, gptBeta.Status));
        Assert.Contains("model 'gpt'", gptBeta.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.TooManyRequests), (poolBeta.Status, poolAlpha.Status));
        Assert.Contains("group 'pool'", poolAlpha.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.OK), (claudeBeta.Status, claudeBetaAgain.Status, claudeAlpha.Status));
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (raised.Status, gptAgain.Status));
        Assert.Equal("10", Header(raised, "x-ratelimit-limit-requests"));
        Assert.Equal(3, limits.List().Count);
    }

    [Fact]
    public async Task TheHostsOwnPartitionedRateLimiterComposesWithTheGatewaysLimits()
    {
        // A fixed window that never replenishes on its own: one call per model, then a refusal with its retry-after.
        using var perModel = PartitionedRateLimiter.Create<LlmRequestContext, string>(context => RateLimitPartition.GetFixedWindowLimiter(
            context.RequestedModel, _ => new FixedWindowRateLimiterOptions { PermitLimit = 1, Window = TimeSpan.FromHours(1), QueueLimit = 0, AutoReplenishment = false }));
        await using var gateway = await StartAsync(o => o.Limiters.Add(perModel));

        var first = await PostAsync(gateway, Chat("first"), Alpha);
        var refused = await PostAsync(gateway, Chat("second"), Beta);
        var otherModel = await PostAsync(gateway, Chat("other model", model: "claude"), Beta);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.OK), (first.Status, refused.Status, otherModel.Status));
        Assert.Equal("3600", Header(refused, "retry-after"));
        Assert.Contains("the host's limiter", refused.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStartUpWithALimitThatLimitsNothingOrAPipelineWithoutTheStageFails()
    {
        var empty = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddRateLimits(), null, new Dictionary<string, string?>
        {
            ["LlmGateway:RateLimits:Rules:0:Subject"] = "team-a",
            ["LlmGateway:RateLimits:Rules:1:Subject"] = "team-b",
            ["LlmGateway:RateLimits:Rules:1:RequestsPerMinute"] = "0",
        }));
        var omitted = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddRateLimits().ConfigurePipeline(p => p.UseMetering())));

        Assert.Contains("Rules:0: set at least one of RequestsPerMinute", empty.Message, StringComparison.Ordinal);
        Assert.Contains("Rules:1: The field RequestsPerMinute must be between", empty.Message, StringComparison.Ordinal);
        Assert.Contains("leaves out UseRateLimits()", omitted.Message, StringComparison.Ordinal);
    }

    private static string Chat(string text, int maxTokens = 10, string model = "gpt") =>
        JsonSerializer.Serialize(new { model, max_tokens = maxTokens, messages = new[] { new { role = "user", content = text } } });

    private static string? Header((HttpStatusCode Status, JsonElement Json, HttpResponseHeaders Headers) response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    private async Task<(HttpStatusCode Status, JsonElement Json, HttpResponseHeaders Headers)> PostAsync(GatewayHost gateway, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default, response.Headers);
    }
}
