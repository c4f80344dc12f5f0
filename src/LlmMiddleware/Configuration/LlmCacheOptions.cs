using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware;

/// <summary>Which caches a call may be answered from.</summary>
public enum LlmCacheMode
{
    /// <summary>No caching: every call reaches a provider.</summary>
    Off,

    /// <summary>Only a request identical in every output-changing field (see the README's cache key) is answered from the cache.</summary>
    Exact,

    /// <summary>The exact cache first, then a semantically similar earlier request in the same partition.</summary>
    Semantic,
}

/// <summary>Who shares cache entries.</summary>
public enum LlmCacheScope
{
    /// <summary>Entries belong to the caller's team when a hook names one, otherwise to the key the caller presented.</summary>
    Tenant,

    /// <summary>Entries belong to the key the caller presented, even within a team.</summary>
    Key,

    /// <summary>All callers share entries. Opt in only when every caller may see every other caller's answers.</summary>
    Shared,
}

/// <summary>How a route or endpoint caches: mode, lifetime, scope and the semantic cache's safety rules.</summary>
public class LlmCachePolicy
{
    /// <summary>Which caches answer calls. Default <see cref="LlmCacheMode.Off"/>.</summary>
    public LlmCacheMode Mode { get; set; }

    /// <summary>How long an entry lives. Default 1 hour.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Who shares entries. Default <see cref="LlmCacheScope.Tenant"/>.</summary>
    public LlmCacheScope Scope { get; set; }

    /// <summary>Least cosine similarity between two requests' embeddings for a semantic hit. Default 0.95.</summary>
    [Range(0.5, 1.0)]
    public double SimilarityThreshold { get; set; } = 0.95;

    /// <summary>Most user turns a request may have to be answered semantically; longer conversations are answered only by
    /// the exact cache, since a near-duplicate conversation rarely wants the same next turn. Default 1.</summary>
    [Range(1, 1000)]
    public int MaxSemanticTurns { get; set; } = 1;

    /// <summary>Highest temperature a request may ask for and still be answered semantically (a caller asking for varied
    /// output should not get a neighbour's answer). Default 1.0; requests without a temperature qualify.</summary>
    [Range(0.0, 2.0)]
    public double MaxSemanticTemperature { get; set; } = 1.0;

    /// <summary>Whether a request that offers tools may be answered semantically. Default false: a near-duplicate
    /// wording can call the same tool with different arguments, so only an exact match answers it.</summary>
    public bool SemanticWithTools { get; set; }
}

/// <summary>
/// Response caching, bound to <c>LlmGateway:Cache</c>: the default policy (its own properties), named policies that
/// routes and endpoints select, and the semantic cache's engine.
/// </summary>
public sealed class LlmCacheOptions : LlmCachePolicy
{
    /// <summary>The service key under which a host registers its own <c>HybridCache</c> for the response cache, replacing
    /// the gateway's (whose tags <c>RemoveByTagAsync</c> drops are listed on the entries). Resolve it with this key to
    /// invalidate entries.</summary>
    public const string HybridCacheKey = "LlmMiddleware.ResponseCache";

    /// <summary>Most bytes of answers the gateway's own <c>HybridCache</c> holds in memory on this instance, counted by
    /// their serialized size; past it, entries are compacted and new ones go only to the distributed cache. Default
    /// 100 MiB, as ASP.NET Core's output cache. Not used when the host registers its own under <see cref="HybridCacheKey"/>.</summary>
    [Range(1024, long.MaxValue)]
    public long LocalMaxBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Named policies, selected with <c>WithLlmCachePolicy("name")</c> on endpoints or the
    /// <c>Llm.CachePolicy</c> metadata of a YARP route. The name <c>off</c> is reserved for "no caching".</summary>
    public Dictionary<string, LlmCachePolicy> Policies { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The semantic cache's embeddings and index.</summary>
    public LlmSemanticCacheOptions Semantic { get; } = new();
}

/// <summary>The semantic cache's embeddings and index, bound to <c>LlmGateway:Cache:Semantic</c>.</summary>
public sealed class LlmSemanticCacheOptions
{
    /// <summary>The service key under which a host registers its own embedding generator for the semantic cache.</summary>
    public const string EmbeddingGeneratorKey = "LlmMiddleware.SemanticCache";

    /// <summary>
    /// The embeddings model requests are embedded with, as a caller would name it (<c>openai/text-embedding-3-small</c>,
    /// an alias). Unset: a keyed <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c> registered under
    /// <see cref="EmbeddingGeneratorKey"/> if any, otherwise the built-in lexical embedder, which matches
    /// near-duplicates (rewordings that share most words), not meaning.
    /// </summary>
    public string? EmbeddingModel { get; set; }

    /// <summary>Most entries held in memory on this instance, across partitions; the oldest are evicted first. Default 100,000.</summary>
    [Range(1, 10_000_000)]
    public int MaxEntries { get; set; } = 100_000;

    /// <summary>Most memory held by those entries on this instance (vectors and answers, estimated); the oldest are
    /// evicted first. Default 256 MiB.</summary>
    [Range(4096, long.MaxValue)]
    public long MaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Entries in a partition beyond which lookups use the approximate (clustered) index instead of a flat scan. Default 4,096.</summary>
    [Range(64, 10_000_000)]
    public int IndexThreshold { get; set; } = 4096;
}
