using LlmMiddleware;
using LlmMiddleware.Redis;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Redis storage for the response cache.</summary>
public static class RedisCacheGatewayBuilderExtensions
{
    /// <summary>
    /// Shares the response cache between gateway instances through Redis, bound to <c>LlmGateway:CacheStore</c> and then
    /// <paramref name="configure"/>: Redis becomes the <see cref="IDistributedCache"/> (HybridCache's second level;
    /// this replaces any other <see cref="IDistributedCache"/>), and semantic entries are stored in Redis and announced
    /// to every instance over pub/sub. An alternative to <c>AddPostgreSqlCache()</c>. Redis being away never fails a
    /// call or start-up: the cache then misses.
    /// </summary>
    public static ILlmGatewayBuilder AddRedisCache(this ILlmGatewayBuilder builder, Action<RedisCacheStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<RedisCacheStoreOptions>().BindConfiguration("LlmGateway:CacheStore").ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        var services = builder.Services;
        services.TryAddSingleton<RedisConnection>();
        services.Replace(ServiceDescriptor.Singleton<IDistributedCache>(sp =>
        {
            var store = sp.GetRequiredService<IOptions<RedisCacheStoreOptions>>().Value;
            var connection = sp.GetRequiredService<RedisConnection>();
            return new RedisCache(Options.Options.Create(new RedisCacheOptions
            {
                InstanceName = store.KeyPrefix + "exact:",
                ConnectionMultiplexerFactory = connection.GetAsync,
            }));
        }));
        services.TryAddSingleton<RedisSemanticCacheStore>();
        services.Replace(ServiceDescriptor.Singleton<ILlmSemanticCacheStore>(sp => sp.GetRequiredService<RedisSemanticCacheStore>()));
        return builder;
    }

    /// <summary>Shares the response cache through the Redis at <paramref name="connectionString"/> (a StackExchange.Redis configuration string).</summary>
    public static ILlmGatewayBuilder AddRedisCache(this ILlmGatewayBuilder builder, string connectionString) =>
        builder.AddRedisCache(o => o.ConnectionString = connectionString);
}
