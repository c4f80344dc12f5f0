using LlmMiddleware.Caching;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LlmMiddleware.Tests.Caching;

/// <summary>The response cache runs on Microsoft's HybridCache; the host's own registration and options win.</summary>
public sealed class HybridCacheRegistrationTests
{
    [Fact]
    public void TheDefaultIsMicrosoftsHybridCacheWithTheEntrySerializer()
    {
        using var provider = Services();

        Assert.Equal("Microsoft.Extensions.Caching.Hybrid.Internal.DefaultHybridCache", provider.GetRequiredService<HybridCache>().GetType().FullName);
        Assert.Same(LlmCacheEntrySerializer.Instance, provider.GetRequiredService<IHybridCacheSerializer<LlmCacheEntry>>());
    }

    [Fact]
    public async Task EntriesCrossTheDistributedCacheInTheirOwnWireForm()
    {
        var shared = new SharedDistributedCache();
        using var one = Services(shared);
        using var two = Services(shared);
        var entry = new LlmCacheEntry
        {
            Response = new LlmResponse { Id = "r1", Model = "m", Content = { new LlmTextPart("cached") }, FinishReason = LlmFinishReason.Stop },
            Provider = "openai",
            Model = "gpt-4o-mini",
            Cost = 0.001m,
        };

        await one.GetRequiredService<HybridCache>().SetAsync("k", entry);
        var read = await two.GetRequiredService<HybridCache>().GetOrCreateAsync<LlmCacheEntry>("k", _ => throw new InvalidOperationException("should come from L2"));

        Assert.Equal("cached", Assert.IsType<LlmTextPart>(read.Response.Content[0]).Text);
        Assert.Equal(0.001m, read.Cost);
        Assert.Contains("{\"v\":1,\"provider\":\"openai\"", System.Text.Encoding.UTF8.GetString(shared.Get("k")!)); // behind HybridCache's own header
    }

    [Fact]
    public void AHostsOwnHybridCacheAndOptionsWin()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddHybridCache(o => o.MaximumPayloadBytes = 123);
        services.AddLlmGateway();
        using (var provider = services.BuildServiceProvider())
        {
            Assert.Equal(123, provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<HybridCacheOptions>>().Value.MaximumPayloadBytes);
        }

        var own = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider().GetRequiredService<HybridCache>();
        services.AddSingleton(own);
        using var withOwn = services.BuildServiceProvider();
        Assert.Same(own, withOwn.GetRequiredService<HybridCache>());
    }

    /// <summary>An L2 two instances share (HybridCache ignores a plain MemoryDistributedCache as redundant with L1).</summary>
    private sealed class SharedDistributedCache() : IDistributedCache
    {
        private readonly MemoryDistributedCache _inner = new(Microsoft.Extensions.Options.Options.Create(new MemoryDistributedCacheOptions()));

        public byte[]? Get(string key) => _inner.Get(key);

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => _inner.GetAsync(key, token);

        public void Refresh(string key) => _inner.Refresh(key);

        public Task RefreshAsync(string key, CancellationToken token = default) => _inner.RefreshAsync(key, token);

        public void Remove(string key) => _inner.Remove(key);

        public Task RemoveAsync(string key, CancellationToken token = default) => _inner.RemoveAsync(key, token);

        public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => _inner.Set(key, value, options);

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) => _inner.SetAsync(key, value, options, token);
    }

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
