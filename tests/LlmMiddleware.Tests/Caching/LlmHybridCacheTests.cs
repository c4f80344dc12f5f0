using LlmMiddleware.Caching;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LlmMiddleware.Tests.Caching;

/// <summary>The default HybridCache: L1, the host's distributed cache as L2, stampede protection, tags and flags.</summary>
public sealed class LlmHybridCacheTests
{
    [Fact]
    public async Task ConcurrentCallersOfAMissingKeyShareOneFactoryRun()
    {
        using var provider = Services();
        var cache = provider.GetRequiredService<HybridCache>();
        var runs = 0;
        var release = new TaskCompletionSource();

        var callers = Enumerable.Range(0, 50).Select(_ => cache.GetOrCreateAsync("k", async ct =>
        {
            Interlocked.Increment(ref runs);
            await release.Task;
            return "value";
        }).AsTask()).ToList();
        release.SetResult();

        Assert.All(await Task.WhenAll(callers), v => Assert.Equal("value", v));
        Assert.Equal(1, runs);
        Assert.Equal("value", await cache.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException("should be cached")));
    }

    [Fact]
    public async Task AFailedRunIsNotRememberedAndACancelledWaiterDoesNotCancelTheRun()
    {
        using var provider = Services();
        var cache = provider.GetRequiredService<HybridCache>();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await cache.GetOrCreateAsync<string>("k", _ => throw new InvalidOperationException()));
        Assert.Equal("second", await cache.GetOrCreateAsync("k", _ => ValueTask.FromResult("second")));

        var release = new TaskCompletionSource();
        using var cancel = new CancellationTokenSource();
        var first = cache.GetOrCreateAsync("slow", async _ => { await release.Task; return 1; }, cancellationToken: cancel.Token).AsTask();
        var second = cache.GetOrCreateAsync("slow", _ => ValueTask.FromResult(2)).AsTask();
        cancel.Cancel();
        release.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Equal(1, await second);
    }

    [Fact]
    public async Task InstancesShareEntriesThroughTheDistributedCache()
    {
        var shared = new MemoryDistributedCache(Microsoft.Extensions.Options.Options.Create(new MemoryDistributedCacheOptions()));
        using var one = Services(shared);
        using var two = Services(shared);

        await one.GetRequiredService<HybridCache>().GetOrCreateAsync("k", _ => ValueTask.FromResult(new Payload("from one", 1)));
        var read = await two.GetRequiredService<HybridCache>().GetOrCreateAsync<Payload>("k", _ => throw new InvalidOperationException("should come from L2"));

        Assert.Equal(new Payload("from one", 1), read);
    }

    [Fact]
    public async Task TagsAndRemovalInvalidateAndFlagsAreHonoured()
    {
        using var provider = Services();
        var cache = provider.GetRequiredService<HybridCache>();
        await cache.SetAsync("a", "1", tags: ["model:x"]);
        await cache.RemoveByTagAsync("model:x");
        Assert.Equal("fresh", await cache.GetOrCreateAsync("a", _ => ValueTask.FromResult("fresh")));

        await cache.RemoveAsync("a");
        Assert.Equal("again", await cache.GetOrCreateAsync("a", _ => ValueTask.FromResult("again")));

        var noWrite = new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableUnderlyingData };
        var runs = 0;
        for (var i = 0; i < 2; i++)
        {
            await cache.GetOrCreateAsync("b", _ => ValueTask.FromResult(Interlocked.Increment(ref runs)), noWrite);
        }

        Assert.Equal(2, runs);
    }

    [Fact]
    public void AHostsOwnHybridCacheWins()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        var own = new LlmHybridCache(new ServiceCollection().BuildServiceProvider(), TimeProvider.System);
        services.AddSingleton<HybridCache>(own);
        services.AddLlmGateway();

        using var provider = services.BuildServiceProvider();
        Assert.Same(own, provider.GetRequiredService<HybridCache>());
    }

    public sealed record Payload(string Text, int Number);

    private static ServiceProvider Services(IDistributedCache? distributed = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        if (distributed is not null)
        {
            services.AddSingleton(distributed);
        }

        services.AddLlmGateway();
        return services.BuildServiceProvider();
    }
}
