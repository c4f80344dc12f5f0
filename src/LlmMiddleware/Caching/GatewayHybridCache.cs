using LlmMiddleware.Telemetry;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Caching;

/// <summary>
/// The response cache's own <see cref="HybridCache"/> (Microsoft's implementation): a private in-process L1 bounded
/// by <see cref="LlmCacheOptions.LocalMaxBytes"/>, over the host's <see cref="IDistributedCache"/> as L2. Private
/// because a size limit on the host's shared <see cref="IMemoryCache"/> would make every host entry without a size
/// throw; HybridCache sizes each of ours by its serialized bytes. Like ASP.NET Core's output cache, which owns a
/// bounded store for the same reason. A host replaces it by registering a keyed <see cref="HybridCache"/> under
/// <see cref="LlmCacheOptions.HybridCacheKey"/>.
/// </summary>
internal sealed class GatewayHybridCache : IDisposable
{
    private readonly ServiceProvider _inner;

    public GatewayHybridCache(IServiceProvider host, IOptions<LlmGatewayOptions> options)
    {
        // Host services are added as instances, which the inner provider does not dispose; the L1 it owns and does.
        var services = new ServiceCollection();
        var limit = options.Value.Cache.LocalMaxBytes;
        services.AddSingleton<IMemoryCache>(_ => new MemoryCache(new MemoryCacheOptions { SizeLimit = limit }));
        if (host.GetService<IDistributedCache>() is { } l2)
        {
            services.AddSingleton<IDistributedCache>(new ObservedDistributedCache(l2, host.GetRequiredService<LlmUsageMetrics>()));
        }

        services.AddSingleton(host.GetRequiredService<IHybridCacheSerializer<LlmCacheEntry>>());
        services.AddSingleton(host.GetRequiredService<TimeProvider>());
        services.AddSingleton(host.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance);
        services.AddSingleton(host.GetRequiredService<IOptions<HybridCacheOptions>>()); // the host's HybridCacheOptions still apply
        services.AddHybridCache();
        _inner = services.BuildServiceProvider();
        Cache = _inner.GetRequiredService<HybridCache>();
    }

    public HybridCache Cache { get; }

    public void Dispose() => _inner.Dispose();
}
