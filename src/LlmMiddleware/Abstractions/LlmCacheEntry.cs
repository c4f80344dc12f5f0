using System.ComponentModel;

namespace LlmMiddleware;

/// <summary>
/// A cached answer: the response in the gateway's protocol-neutral form (replayed in whichever protocol the next
/// caller speaks, streamed or not), who produced it, and what it cost at which price version, so a hit reports the
/// cost it saved. Never changed once created: marked immutable, so HybridCache's L1 holds the instance itself and a hit
/// deserializes nothing.
/// </summary>
[ImmutableObject(true)]
internal sealed class LlmCacheEntry
{
    public required LlmResponse Response { get; init; }

    public required string Provider { get; init; }

    public required string Model { get; init; }

    public string? Deployment { get; init; }

    /// <summary>What the original call cost; <see langword="null"/> when its model was unpriced.</summary>
    public decimal? Cost { get; init; }

    public string? PriceVersion { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Stored under an exact key after a semantic hit: later identical requests replay the same neighbour's
    /// answer and are reported as semantic hits.</summary>
    public bool Semantic { get; init; }

    public LlmCacheEntry AsSemantic() => new()
    {
        Response = Response,
        Provider = Provider,
        Model = Model,
        Deployment = Deployment,
        Cost = Cost,
        PriceVersion = PriceVersion,
        CreatedAt = CreatedAt,
        Semantic = true,
    };
}
