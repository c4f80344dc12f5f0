using Microsoft.Extensions.Caching.Hybrid;

namespace LlmMiddleware.Caching;

/// <summary>A cache policy ready for use: its settings and the entry options they imply.</summary>
internal sealed class ResolvedCachePolicy
{
    public ResolvedCachePolicy(LlmCachePolicy policy)
    {
        Mode = policy.Mode;
        Ttl = policy.Ttl;
        Scope = policy.Scope;
        SimilarityThreshold = policy.SimilarityThreshold;
        MaxSemanticTurns = policy.MaxSemanticTurns;
        MaxSemanticTemperature = policy.MaxSemanticTemperature;
        SemanticWithTools = policy.SemanticWithTools;
        EntryOptions = new HybridCacheEntryOptions { Expiration = policy.Ttl, LocalCacheExpiration = policy.Ttl };
        RefreshOptions = new HybridCacheEntryOptions { Expiration = policy.Ttl, LocalCacheExpiration = policy.Ttl, Flags = HybridCacheEntryFlags.DisableLocalCacheRead | HybridCacheEntryFlags.DisableDistributedCacheRead };
    }

    public LlmCacheMode Mode { get; }

    public TimeSpan Ttl { get; }

    public LlmCacheScope Scope { get; }

    public double SimilarityThreshold { get; }

    public int MaxSemanticTurns { get; }

    public double MaxSemanticTemperature { get; }

    public bool SemanticWithTools { get; }

    public HybridCacheEntryOptions EntryOptions { get; }

    /// <summary>For writes that replace an entry (<c>Cache-Control: no-cache</c>).</summary>
    public HybridCacheEntryOptions RefreshOptions { get; }
}

/// <summary>A route's own cache policy (<see langword="null"/> inside when the route says <c>off</c>), set as an HTTP
/// feature of its requests by the framing and read by the cache stage.</summary>
internal sealed record RouteCachePolicy(ResolvedCachePolicy? Policy);
