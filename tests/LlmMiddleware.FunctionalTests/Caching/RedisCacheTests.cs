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

    [Fact]
    public async Task RedisGoingAwayTurnsTheCacheIntoMissesNeverIntoFailedCalls()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        using var written = Collect(a, "llm_gateway.cache.store.writes");
        Assert.Equal("miss", await CacheOutcomeAsync(a, "before the outage"));
        await StoredAsync(written, "exact");

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
            var restored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            connection.ConnectionRestored += (_, _) => restored.TrySetResult();
            while (!connection.IsConnected) // checked after subscribing, so a reconnection in between is not missed
            {
                await restored.Task.WaitAsync(TimeSpan.FromMinutes(1));
                restored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        using var writtenAfter = Collect(a, "llm_gateway.cache.store.writes");
        Assert.Equal("miss", await CacheOutcomeAsync(a, "after the outage"));
        await StoredAsync(writtenAfter, "exact");
        Assert.Equal("hit-exact", await CacheOutcomeAsync(b, "after the outage"));
        Assert.Equal(5, Upstream.Calls.Count);
    }
}
