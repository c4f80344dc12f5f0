using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace LlmMiddleware.FunctionalTests.Caching;

/// <summary>Gateway instances sharing one real Redis: exact entries through HybridCache's L2, semantic entries over
/// pub/sub; Redis going away turns the cache into misses, never into failed calls.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisCacheTests(RedisServer redis) : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..8] + ":";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _upstream.DisposeAsync();
    }

    private Task<GatewayHost> StartAsync() => GatewayHost.StartAsync(
        _upstream,
        b => b.Services.AddLlmGateway().AddRedisCache(o =>
        {
            o.ConnectionString = redis.ConnectionString;
            o.KeyPrefix = _prefix;
            o.Channel = _prefix + "semantic";
        }),
        app =>
        {
            app.MapLlmGateway();
            app.MapLlmGateway("/semantic").WithLlmCachePolicy("semantic");
        },
        new Dictionary<string, string?>
        {
            ["LlmGateway:Cache:Mode"] = "Exact",
            ["LlmGateway:Cache:Policies:semantic:Mode"] = "Semantic",
            ["LlmGateway:Cache:Policies:semantic:SimilarityThreshold"] = "0.9",
        });

    private async Task<string> CacheOutcomeAsync(GatewayHost gateway, string text, string prefix = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + prefix + "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"gpt","messages":[{"role":"user","content":"{{text}}"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "shared-tenant");
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Hello from openai", body);
        return response.Headers.GetValues("x-llm-cache").Single();
    }

    /// <summary>Waits until Redis holds at least <paramref name="count"/> keys matching <paramref name="pattern"/> (written off the request path).</summary>
    private async Task WaitForKeysAsync(string pattern, int count = 1)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        for (var i = 0; server.Keys(pattern: _prefix + pattern).Count() < count; i++)
        {
            Assert.True(i < 500, $"No key {_prefix}{pattern} reached Redis.");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task AnExactEntryWrittenByOneInstanceIsAHitOnTheOther()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();

        Assert.Equal("miss", await CacheOutcomeAsync(a, "Shared exact question"));
        await WaitForKeysAsync("exact:*");

        Assert.Equal("hit-exact", await CacheOutcomeAsync(b, "Shared exact question"));
        Assert.Single(_upstream.Calls);
    }

    [Fact]
    public async Task ASemanticEntryReachesTheOtherInstanceThroughPubSubAndALaterInstanceLoadsIt()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();

        Assert.Equal("miss", await CacheOutcomeAsync(a, "How many moons does Jupiter have?", "/semantic"));
        await WaitForKeysAsync("semantic:*", 2); // the entry and the index of live entries

        // Each try is worded apart (punctuation only), so a try that misses cannot turn the next into an exact hit.
        string outcome;
        var attempt = 0;
        while ((outcome = await CacheOutcomeAsync(b, "how many moons does Jupiter have" + new string('?', attempt), "/semantic")) != "hit-semantic" && ++attempt < 100)
        {
            await Task.Delay(20);
        }

        Assert.Equal("hit-semantic", outcome);

        await using var c = await StartAsync();
        for (attempt = 0; (outcome = await CacheOutcomeAsync(c, "How many moons does Jupiter have" + new string('!', attempt), "/semantic")) != "hit-semantic" && attempt < 100; attempt++)
        {
            await Task.Delay(20);
        }

        Assert.Equal("hit-semantic", outcome);
    }

    [Fact]
    public async Task RedisGoingAwayTurnsTheCacheIntoMissesNeverIntoFailedCalls()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        Assert.Equal("miss", await CacheOutcomeAsync(a, "before the outage"));
        await WaitForKeysAsync("exact:*");

        await redis.StopAsync();
        try
        {
            Assert.Equal("miss", await CacheOutcomeAsync(a, "during the outage"));
            Assert.Equal("miss", await CacheOutcomeAsync(b, "during the outage, elsewhere"));
            Assert.Equal("miss", await CacheOutcomeAsync(b, "during the outage, semantic", "/semantic"));
            Assert.Equal("hit-exact", await CacheOutcomeAsync(a, "during the outage")); // this instance's own L1 still serves
        }
        finally
        {
            await redis.StartAsync();
        }

        // Back once both instances have reconnected: entries are shared again (the restarted server is empty).
        foreach (var gateway in new[] { a, b })
        {
            var connection = await gateway.Services.GetRequiredService<LlmMiddleware.Redis.RedisConnection>().GetAsync();
            for (var i = 0; !connection.IsConnected; i++)
            {
                Assert.True(i < 6000, "The gateway never reconnected to Redis.");
                await Task.Delay(10);
            }
        }

        Assert.Equal("miss", await CacheOutcomeAsync(a, "after the outage"));
        await WaitForKeysAsync("exact:*");
        Assert.Equal("hit-exact", await CacheOutcomeAsync(b, "after the outage"));
        Assert.Equal(5, _upstream.Calls.Count);
    }
}
