using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Virtual keys: a call needs a valid key, presented the way each official SDK presents one; a key is
/// limited to its models; keys expire, rotate with a grace period and are revoked at once; and the key is who the call
/// is metered and cached for.</summary>
public sealed class VirtualKeyTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const string DemoSecret = "sk-llm-demo-0123456789abcdef";

    private static readonly Dictionary<string, string?> Keys = new()
    {
        ["LlmGateway:VirtualKeys:Keys:demo:Secret"] = DemoSecret,
        ["LlmGateway:VirtualKeys:Keys:demo:Team"] = "research",
        ["LlmGateway:VirtualKeys:Keys:demo:App"] = "notebook",
        ["LlmGateway:VirtualKeys:Keys:demo:Tags:env"] = "dev",
        ["LlmGateway:VirtualKeys:Keys:hashed:SecretHash"] = Sha256("sk-llm-hashed-only-in-config"),
        ["LlmGateway:VirtualKeys:Keys:hashed:Models:0"] = "claude",
        ["LlmGateway:VirtualKeys:Keys:hashed:Models:1"] = "openai/*",
    };

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly CollectingSink _sink = new();

    /// <summary>A gateway with the configured keys; on the test's clock when <paramref name="onTestClock"/> (its record
    /// sinks then flush only as that clock moves).</summary>
    private Task<GatewayHost> StartAsync(Action<ILlmGatewayBuilder>? configure = null, Action<WebApplication>? app = null, bool onTestClock = false) =>
        GatewayHost.StartAsync(fixture.Upstream, b =>
        {
            if (onTestClock)
            {
                b.Services.AddSingleton<TimeProvider>(_time);
            }

            var gateway = b.Services.AddLlmGateway().AddVirtualKeys();
            b.Services.AddSingleton<ILlmCallRecordSink>(_sink);
            configure?.Invoke(gateway);
        }, app, Keys);

    private static AnthropicClient Anthropic(GatewayHost gateway, string key) => new() { ApiKey = key, BaseUrl = gateway.BaseUrl, MaxRetries = 0 };

    private static MessageCreateParams Message(string model, string text) => new() { Model = model, MaxTokens = 32, Messages = [new UserMessageParam(text)] };

    [Fact]
    public async Task BothSdksCallWithAConfiguredKeyAndTheCallIsMeteredForThatKey()
    {
        await using var gateway = await StartAsync();

        var openai = await Sdks.OpenAI(gateway, DemoSecret).CompleteChatAsync([new UserChatMessage("hello keys")]);
        var anthropic = await Anthropic(gateway, DemoSecret).Messages.Create(Message("claude", "hello keys"));

        Assert.Equal("Hello from openai: hello keys", openai.Value.Content[0].Text);
        Assert.True(anthropic.Content[0].TryPickText(out var text) && text.Text == "Hello from anthropic: hello keys");
        await _sink.WaitForAsync(r => r.Caller.Key == "demo", 2);
        Assert.All(_sink.Records, r => Assert.Equal(("demo", "research", "notebook", "dev"), (r.Caller.Key, r.Caller.Team, r.Caller.App, r.Caller.Tags?["env"])));
        Assert.DoesNotContain(DemoSecret, fixture.Upstream.LastCall("openai").Headers.ToString());
    }

    [Fact]
    public async Task AMissingOrUnknownKeyIsA401InEachSdksOwnErrorAndNothingReachesTheProvider()
    {
        await using var gateway = await StartAsync();
        var before = fixture.Upstream.Calls.Count;

        var openai = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, "sk-llm-not-a-key-of-ours").CompleteChatAsync([new UserChatMessage("hi")]));
        var anthropic = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => Anthropic(gateway, "sk-llm-not-a-key-of-ours").Messages.Create(Message("claude", "hi")));
        var (status, json) = await PostAsync(gateway, "/v1/chat/completions", """{"model":"gpt","messages":[{"role":"user","content":"no key"}]}""", key: null);

        Assert.Equal(401, openai.Status);
        Assert.Contains("invalid_api_key", openai.Message, StringComparison.Ordinal);
        Assert.Contains("authentication_error", anthropic.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_api_key", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("No API key", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, fixture.Upstream.Calls.Count);
        await _sink.WaitForAsync(r => r.ErrorCode == LlmErrorCodes.InvalidApiKey, 3); // refusals are recorded, at no cost
        Assert.All(_sink.Records, r => Assert.True(r.Cost is null or 0m));
    }

    [Fact]
    public async Task AKeyCallsOnlyItsModelsAndListsOnlyThem()
    {
        await using var gateway = await StartAsync();
        const string key = "sk-llm-hashed-only-in-config";

        var allowed = await Anthropic(gateway, key).Messages.Create(Message("claude", "allowed"));
        var byPrefix = await Sdks.OpenAI(gateway, key, "openai/gpt-4o-mini").CompleteChatAsync([new UserChatMessage("allowed by prefix")]);
        var refusedOpenAI = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, key, "gpt").CompleteChatAsync([new UserChatMessage("not mine")]));
        var refusedAnthropic = await Assert.ThrowsAsync<AnthropicForbiddenException>(() => Anthropic(gateway, key).Messages.Create(Message("gem", "not mine")));
        var (status, models) = await GetAsync(gateway, "/v1/models", key);

        Assert.NotNull(allowed);
        Assert.NotNull(byPrefix.Value);
        Assert.Equal(403, refusedOpenAI.Status);
        Assert.Contains("model_not_allowed", refusedOpenAI.Message, StringComparison.Ordinal);
        Assert.Contains("permission_error", refusedAnthropic.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["claude"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "/v1/models", key: null)).Status);
    }

    [Fact]
    public async Task AnIssuedKeyWorksAtOnceIsStoredOnlyAsAHashAndStopsAtItsExpiry()
    {
        await using var gateway = await StartAsync(onTestClock: true);
        var keys = gateway.Services.GetRequiredService<LlmVirtualKeys>();

        var issued = await keys.CreateAsync(new LlmVirtualKey { Team = "payments", ExpiresAt = _time.GetUtcNow().AddHours(1) });
        var first = await Sdks.OpenAI(gateway, issued.Secret).CompleteChatAsync([new UserChatMessage("issued")]);
        _time.Advance(TimeSpan.FromHours(1));
        var expired = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, issued.Secret).CompleteChatAsync([new UserChatMessage("expired")]));

        Assert.StartsWith("sk-llm-", issued.Secret, StringComparison.Ordinal);
        Assert.True(issued.Secret.Length >= 7 + 43); // 256 random bits
        Assert.StartsWith("vk_", issued.Key.Id, StringComparison.Ordinal);
        Assert.NotNull(first.Value);
        Assert.Equal(401, expired.Status);
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);
        var stored = Assert.Single(await gateway.Services.GetRequiredService<ILlmVirtualKeyStore>().WatchAsync(default).FirstAsync(), k => k.Key.Id == issued.Key.Id);
        Assert.DoesNotContain(issued.Secret, JsonSerializer.Serialize(stored), StringComparison.Ordinal);
        Assert.Equal(Sha256(issued.Secret), Assert.Single(stored.Secrets).Hash);
    }

    [Fact]
    public async Task ARotatedKeysOldSecretWorksForTheGracePeriodOnlyAndARevokedKeyStopsAtOnce()
    {
        await using var gateway = await StartAsync(onTestClock: true);
        var keys = gateway.Services.GetRequiredService<LlmVirtualKeys>();
        var issued = await keys.CreateAsync(new LlmVirtualKey { Name = "rotating" });

        var rotated = await keys.RotateAsync(issued.Key.Id, TimeSpan.FromMinutes(10));
        await Sdks.OpenAI(gateway, issued.Secret).CompleteChatAsync([new UserChatMessage("old, in grace")]);
        await Sdks.OpenAI(gateway, rotated.Secret).CompleteChatAsync([new UserChatMessage("new")]);
        _time.Advance(TimeSpan.FromMinutes(10));
        var old = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, issued.Secret).CompleteChatAsync([new UserChatMessage("old, past grace")]));
        await Sdks.OpenAI(gateway, rotated.Secret).CompleteChatAsync([new UserChatMessage("new, still")]);
        Assert.True(await keys.RevokeAsync(issued.Key.Id));
        var revoked = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => Anthropic(gateway, rotated.Secret).Messages.Create(Message("claude", "revoked")));

        Assert.Equal(401, old.Status);
        Assert.Contains("revoked", revoked.Message, StringComparison.Ordinal);
        Assert.Equal(issued.Key.Id, rotated.Key.Id);
        Assert.NotNull(keys.Find(issued.Key.Id)?.RevokedAt);
        Assert.False(await keys.RevokeAsync("vk_no_such_key"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => keys.RotateAsync(issued.Key.Id).AsTask());
    }

    [Fact]
    public async Task AHostAuthenticatedPrincipalActsAsTheKeyTheHostMapsItTo()
    {
        await using var gateway = await StartAsync(
            gateway => gateway.Services.Configure<LlmVirtualKeyOptions>(o => o.ResolvePrincipal = principal =>
                principal.FindFirst("employee")?.Value is { } employee ? new LlmVirtualKey { Id = "sso-" + employee, Team = "sso", Models = ["gpt"] } : null),
            app =>
            {
                // The host's own authentication: here, a trusted header an auth proxy sets.
                app.Use((http, next) =>
                {
                    if (http.Request.Headers["x-employee"].ToString() is { Length: > 0 } employee)
                    {
                        http.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("employee", employee)], "proxy"));
                    }

                    return next(http);
                });
                app.MapLlmGateway();
            });

        var (status, _) = await PostAsync(gateway, "/v1/chat/completions", """{"model":"gpt","messages":[{"role":"user","content":"sso"}]}""", key: null, ("x-employee", "e42"));
        var (otherModel, _) = await PostAsync(gateway, "/v1/chat/completions", """{"model":"claude","messages":[{"role":"user","content":"sso"}]}""", key: null, ("x-employee", "e42"));
        var (nobody, _) = await PostAsync(gateway, "/v1/chat/completions", """{"model":"gpt","messages":[{"role":"user","content":"sso"}]}""", key: null);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Unauthorized), (status, otherModel, nobody));
        Assert.Equal("sso", (await _sink.WaitForAsync(r => r.Caller.Key == "sso-e42")).Caller.Team);
    }

    [Fact]
    public async Task TheResponseCacheNeverAnswersOneTeamsKeyWithAnotherTeamsAnswer()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddVirtualKeys(), null, new Dictionary<string, string?>(Keys) { ["LlmGateway:Cache:Mode"] = "Exact", ["LlmGateway:Cache:Scope"] = "Tenant" });
        var other = await gateway.Services.GetRequiredService<LlmVirtualKeys>().CreateAsync(new LlmVirtualKey { Team = "other-team" });
        var body = """{"model":"gpt","messages":[{"role":"user","content":"tenant question"}]}""";

        var (_, _, first) = await PostWithCacheAsync(gateway, body, DemoSecret);
        var (_, _, again) = await PostWithCacheAsync(gateway, body, DemoSecret);
        var (_, _, otherTeam) = await PostWithCacheAsync(gateway, body, other.Secret);

        Assert.Equal(("miss", "hit-exact", "miss"), (first, again, otherTeam));
    }

    [Fact]
    public async Task TheGatewaysOwnEmbeddingsForTheSemanticCacheActForTheCallersKeyWhateverModelsItMayUse()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b =>
        {
            b.Services.AddLlmGateway().AddVirtualKeys();
            b.Services.AddSingleton<ILlmCallRecordSink>(_sink);
        }, null, new Dictionary<string, string?>(Keys)
        {
            ["LlmGateway:Cache:Mode"] = "Semantic",
            ["LlmGateway:Cache:SimilarityThreshold"] = "0.9",
            ["LlmGateway:Cache:Semantic:EmbeddingModel"] = "openai/text-embedding-3-small",
        });
        var chatOnly = await gateway.Services.GetRequiredService<LlmVirtualKeys>().CreateAsync(new LlmVirtualKey { Models = ["gpt"] });

        var (_, _, first) = await PostWithCacheAsync(gateway, """{"model":"gpt","messages":[{"role":"user","content":"First wording, keyed"}]}""", chatOnly.Secret);
        var (_, _, second) = await PostWithCacheAsync(gateway, """{"model":"gpt","messages":[{"role":"user","content":"Second wording, keyed"}]}""", chatOnly.Secret);

        // The fake embeds every text alike, so the second request is the first one's neighbour.
        Assert.Equal(("miss", "hit-semantic"), (first, second));
        Assert.Equal(chatOnly.Key.Id, (await _sink.WaitForAsync(r => r.Operation == "embeddings")).Caller.Key);
    }

    [Fact]
    public async Task APipelineThatLeavesOutTheKeyCheckDoesNotStart()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(g => g.ConfigurePipeline(p => p.UseMetering().UseHooks())));

        Assert.Contains("UseVirtualKeys()", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AConfiguredKeyWithoutAUsableSecretStopsStartUp()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddVirtualKeys(), null, new Dictionary<string, string?>
        {
            ["LlmGateway:VirtualKeys:Keys:bad:SecretHash"] = "not-a-hash",
            ["LlmGateway:VirtualKeys:Keys:both:Secret"] = DemoSecret,
            ["LlmGateway:VirtualKeys:Keys:both:SecretHash"] = Sha256(DemoSecret),
        }));

        Assert.Contains("Keys:bad: SecretHash must be", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Keys:both: set exactly one of Secret and SecretHash", failure.Message, StringComparison.Ordinal);
    }

    private static string Sha256(string secret) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(GatewayHost gateway, string path, string body, string? key, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        using var response = await fixture.Http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    private async Task<(HttpStatusCode Status, JsonElement Json, string? Cache)> PostWithCacheAsync(GatewayHost gateway, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await fixture.Http.SendAsync(request);
        var cache = response.Headers.TryGetValues("x-llm-cache", out var values) ? values.Single() : null;
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement, cache);
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> GetAsync(GatewayHost gateway, string path, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.BaseUrl + path);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await fixture.Http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }
}
