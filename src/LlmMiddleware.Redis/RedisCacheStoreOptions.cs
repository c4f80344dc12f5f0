using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware.Redis;

/// <summary>Settings of the Redis cache storage, bound to <c>LlmGateway:CacheStore</c>.</summary>
public sealed class RedisCacheStoreOptions
{
    /// <summary>The StackExchange.Redis configuration string, for example <c>redis-host:6379,password=...</c>.</summary>
    [Required]
    public string ConnectionString { get; set; } = "";

    /// <summary>Prefix of every key the gateway writes, so one Redis can serve several gateways. Default <c>llm:</c>.</summary>
    public string KeyPrefix { get; set; } = "llm:";

    /// <summary>The pub/sub channel that announces new semantic entries to every instance. Default <c>llm:semantic-cache</c>.</summary>
    [Required]
    public string Channel { get; set; } = "llm:semantic-cache";

    /// <summary>How often expired semantic entries leave the index of live entries (by whichever instance writes next). Default 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ExpiredEntriesSweepInterval { get; set; } = TimeSpan.FromMinutes(5);
}
