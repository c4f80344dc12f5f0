namespace LlmMiddleware;

/// <summary>
/// Where virtual keys are kept (in memory by default; <c>AddPostgreSqlKeyStore()</c> shares them between instances).
/// The gateway answers calls from memory — the request path never waits on the store — and follows the store's
/// changes, so a key issued or revoked on one instance reaches every other one. Writes go through <see cref="LlmVirtualKeys"/>.
/// </summary>
public interface ILlmVirtualKeyStore
{
    /// <summary>
    /// Every stored key (revoked ones included) as the first batch, then each batch of keys saved afterwards — by any
    /// instance sharing the store — as they are saved. A shared store starts listening before it loads, so no save
    /// falls between the two. Ends when there is nothing more to follow (a store only this instance writes), or
    /// throws when the store is lost: the gateway then watches again, starting with every key.
    /// </summary>
    IAsyncEnumerable<IReadOnlyList<LlmStoredKey>> WatchAsync(CancellationToken cancellationToken);

    /// <summary>Inserts or replaces a key (by <see cref="LlmVirtualKey.Id"/>).</summary>
    ValueTask SaveAsync(LlmStoredKey key, CancellationToken cancellationToken);
}
