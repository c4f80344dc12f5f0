using System.Diagnostics.Metrics;
using LlmMiddleware.Caching;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit;

namespace LlmMiddleware.Tests.Caching;

/// <summary>The response cache runs on its own Microsoft HybridCache: bounded in memory, over the host's distributed
/// cache, with the host's HybridCache options; a host's keyed HybridCache replaces it.</summary>
public sealed class HybridCacheRegistrationTests
{
    [Fact]
    public void TheDefaultIsMicrosoftsHybridCacheWithTheEntrySerializer()
    {
        using var provider = Services();

        Assert.Equal("Microsoft.Extensions.Caching.Hybrid.Internal.DefaultHybridCache", Cache(provider).GetType().FullName);
        Assert.Same(LlmCacheEntrySerializer.Instance, provider.GetRequiredService<IHybridCacheSerializer<LlmCacheEntry>>());
    }

    [Fact]
    public async Task EntriesCrossTheDistributedCacheInTheirOwnWireForm()
    {
        var shared = new SharedDistributedCache();
        using var one = Services(shared);
        using var two = Services(shared);

        await Cache(one).SetAsync("k", Entry("cached"));
        var read = await Cache(two).GetOrCreateAsync<LlmCacheEntry>("k", _ => throw new InvalidOperationException("should come from L2"));

        Assert.Equal("cached", Assert.IsType<LlmTextPart>(read.Response.Content[0]).Text);
        Assert.Equal(0.001m, read.Cost);
        Assert.Contains("{\"v\":1,\"provider\":\"openai\"", System.Text.Encoding.UTF8.GetString(shared.Get("k")!)); // behind HybridCache's own header
    }

    /// <summary>HybridCache writes its second level off the request path and swallows failures: the gateway counts each
    /// write and its outcome, so a store that refuses them shows.</summary>
    [Fact]
    public async Task WritesToTheSharedStoreAreCountedWithTheirOutcome()
    {
        using var working = Services(new SharedDistributedCache());
        using var stored = new MetricCollector<long>(working.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.cache.store.writes");
        await Cache(working).SetAsync("k", Entry("kept"));

        using var failing = Services(new SharedDistributedCache(refuseWrites: true));
        using var failed = new MetricCollector<long>(failing.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.cache.store.writes");
        await Cache(failing).SetAsync("k", Entry("lost"));

        await stored.WaitForMeasurementsAsync(1, TimeSpan.FromMinutes(1));
        await failed.WaitForMeasurementsAsync(1, TimeSpan.FromMinutes(1));
        var write = Assert.Single(stored.GetMeasurementSnapshot());
        Assert.Equal(("exact", "stored"), ((string?)write.Tags["llm_gateway.cache.kind"], (string?)write.Tags["outcome"]));
        var refused = Assert.Single(failed.GetMeasurementSnapshot());
        Assert.Equal(("exact", "failed"), ((string?)refused.Tags["llm_gateway.cache.kind"], (string?)refused.Tags["outcome"]));
    }

    [Fact]
    public async Task TheInMemoryLayerHoldsNoMoreThanLocalMaxBytes()
    {
        // ~1 KB entries against a 32 KiB bound: a host IMemoryCache without SizeLimit (before) kept all 500.
        using var provider = Services(configure: o => o.Cache.LocalMaxBytes = 32 * 1024);
        var cache = Cache(provider);
        var text = new string('x', 1000);
        for (var i = 0; i < 500; i++)
        {
            await cache.SetAsync($"k{i}", Entry(text + i));
        }

        var held = 0;
        for (var i = 0; i < 500; i++)
        {
            var found = true;
            await cache.GetOrCreateAsync<LlmCacheEntry>($"k{i}", _ => { found = false; return default; }, new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheWrite });
            held += found ? 1 : 0;
        }

        Assert.InRange(held, 1, 32);
    }

    [Fact]
    public async Task TheHostsHybridCacheOptionsApply()
    {
        using var provider = Services(host: services => services.AddHybridCache(o => o.MaximumKeyLength = 8));
        var cache = Cache(provider);
        var calls = 0;

        for (var i = 0; i < 2; i++)
        {
            await cache.GetOrCreateAsync("a-key-longer-than-8", _ => { calls++; return ValueTask.FromResult(Entry("fresh")); });
        }

        Assert.Equal(2, calls); // over the host's key limit: never cached
    }

    [Fact]
    public void AHostsKeyedHybridCacheReplacesTheGatewaysAndItsUnkeyedOneIsLeftAlone()
    {
        var own = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider().GetRequiredService<HybridCache>();
        using var provider = Services(host: services => services.AddKeyedSingleton(LlmCacheOptions.HybridCacheKey, own));
        Assert.Same(own, Cache(provider));

        using var plain = Services(host: services => services.AddHybridCache());
        Assert.NotSame(plain.GetRequiredService<HybridCache>(), Cache(plain));
    }

    private static HybridCache Cache(IServiceProvider provider) => provider.GetRequiredKeyedService<HybridCache>(LlmCacheOptions.HybridCacheKey);

    private static LlmCacheEntry Entry(string text) => new()
    {
        Response = new LlmResponse { Id = "r1", Model = "m", Content = { new LlmTextPart(text) }, FinishReason = LlmFinishReason.Stop },
        Provider = "openai",
        Model = "gpt-4o-mini",
        Cost = 0.001m,
    };

    /// <summary>An L2 two instances share (HybridCache ignores a plain MemoryDistributedCache as redundant with L1);
    /// with <paramref name="refuseWrites"/>, a store that is down for writes.</summary>
    private sealed class SharedDistributedCache(bool refuseWrites = false) : IDistributedCache
    {
        private readonly MemoryDistributedCache _inner = new(Microsoft.Extensions.Options.Options.Create(new MemoryDistributedCacheOptions()));

        public byte[]? Get(string key) => _inner.Get(key);

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => _inner.GetAsync(key, token);

        public void Refresh(string key) => _inner.Refresh(key);

        public Task RefreshAsync(string key, CancellationToken token = default) => _inner.RefreshAsync(key, token);

        public void Remove(string key) => _inner.Remove(key);

        public Task RemoveAsync(string key, CancellationToken token = default) => _inner.RemoveAsync(key, token);

        public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => _inner.Set(key, value, options);

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
            refuseWrites ? Task.FromException(new IOException("The store is down.")) : _inner.SetAsync(key, value, options, token);
    }

    private static ServiceProvider Services(IDistributedCache? distributed = null, Action<LlmGatewayOptions>? configure = null, Action<IServiceCollection>? host = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        if (distributed is not null)
        {
            services.AddSingleton(distributed);
        }

        host?.Invoke(services);
        services.AddLlmGateway(configure);
        return services.BuildServiceProvider();
    }
}
