namespace LlmMiddleware;

/// <summary>One semantic cache entry as stored: its partition, unit-length embedding, the serialized answer, and expiry.</summary>
/// <param name="Id">Unique per entry; an instance that sees its own entry come back through the store ignores it.</param>
/// <param name="Partition">The partition key (tenant, model, system prompt, tools, sampling, embedder).</param>
/// <param name="Vector">The request's embedding, unit length.</param>
/// <param name="Payload">The cached answer, in the gateway's versioned wire form.</param>
/// <param name="ExpiresAt">When the entry stops being served.</param>
public sealed record LlmSemanticCacheRecord(Guid Id, string Partition, float[] Vector, byte[] Payload, DateTimeOffset ExpiresAt);

/// <summary>
/// Durable storage for the semantic cache, shared by gateway instances (see <c>AddPostgreSqlCache()</c>). Each
/// instance searches its own in-memory index; the store persists entries and tells every instance about every other
/// instance's additions.
/// </summary>
public interface ILlmSemanticCacheStore
{
    /// <summary>Persists <paramref name="record"/> and announces it to the other instances.</summary>
    ValueTask AddAsync(LlmSemanticCacheRecord record, CancellationToken cancellationToken);

    /// <summary>The unexpired entries, then every entry added from then on by any instance, until cancelled.</summary>
    IAsyncEnumerable<LlmSemanticCacheRecord> WatchAsync(CancellationToken cancellationToken);
}
