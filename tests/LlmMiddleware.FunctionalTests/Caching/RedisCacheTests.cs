using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests.Caching;

/// <summary>Gateway instances sharing one real Redis: exact entries through HybridCache's L2, semantic entries over
/// pub/sub (the shared contract); and Redis going away turns the cache into misses, never into failed calls.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisCacheTests(RedisServer redis) : SharedCacheContract
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..8] + ":";

    protected override void AddStore(ILlmGatewayBuilder gateway) => gateway.AddRedisCache(o =>
    {
        o.ConnectionString = redis.ConnectionString;
        o.KeyPrefix = _prefix;
        o.Channel = _prefix + "semantic";
    });

    protected override Task WaitForExactEntryAsync(int count = 1) => redis.WaitForKeysAsync(_prefix + "exact:*", count);

    protected override Task WaitForSemanticEntryAsync() => redis.WaitForKeysAsync(_prefix + "semantic:*", 2); // the entry and the index of live entries

    [Fact]
    public async Task RedisGoingAwayTurnsTheCacheIntoMissesNeverIntoFailedCalls()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        Assert.Equal("miss", await CacheOutcomeAsync(a, "before the outage"));
        await WaitForExactEntryAsync();

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
            await Poll.UntilAsync(() => Task.FromResult(connection.IsConnected), "The gateway never reconnected to Redis.", attempts: 6000);
        }

        Assert.Equal("miss", await CacheOutcomeAsync(a, "after the outage"));
        await WaitForExactEntryAsync();
        Assert.Equal("hit-exact", await CacheOutcomeAsync(b, "after the outage"));
        Assert.Equal(5, Upstream.Calls.Count);
    }
}
