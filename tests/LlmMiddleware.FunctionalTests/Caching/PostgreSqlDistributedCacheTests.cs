using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace LlmMiddleware.FunctionalTests.Caching;

/// <summary>The PostgreSQL <see cref="IDistributedCache"/> against a real server: absolute and sliding expiry, refresh, removal.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlDistributedCacheTests(PostgreSqlServer postgres)
{
    [Fact]
    public async Task EntriesExpireAbsolutelyOrSlideUntilTheirAbsoluteLimit()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-21T12:00:00Z"));
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton<TimeProvider>(time);
        services.AddLogging();
        services.AddLlmGateway().AddPostgreSqlCache(await postgres.CreateDatabaseAsync());
        await using var provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredService<IDistributedCache>();

        await cache.SetAsync("absolute", [1], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) });
        await cache.SetAsync("sliding", [2], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(1), AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(3) });
        await cache.SetAsync("removed", [3], new DistributedCacheEntryOptions());
        await cache.RemoveAsync("removed");

        time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal([1], await cache.GetAsync("absolute"));
        Assert.Equal([2], await cache.GetAsync("sliding")); // slides to 1:50
        Assert.Null(await cache.GetAsync("removed"));

        time.Advance(TimeSpan.FromSeconds(50)); // 1:40
        Assert.Null(await cache.GetAsync("absolute"));
        await cache.RefreshAsync("sliding"); // slides to 2:40

        time.Advance(TimeSpan.FromSeconds(55)); // 2:35
        Assert.Equal([2], await cache.GetAsync("sliding")); // would slide to 3:35, capped at 3:00

        time.Advance(TimeSpan.FromSeconds(30)); // 3:05
        Assert.Null(await cache.GetAsync("sliding"));
    }
}
