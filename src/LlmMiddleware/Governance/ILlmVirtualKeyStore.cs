namespace LlmMiddleware;

/// <summary>
/// Where virtual keys are kept (in memory by default). The gateway loads them all at start-up and answers calls from
/// memory: the request path never waits on the store. Writes go through <see cref="LlmVirtualKeys"/>.
/// </summary>
public interface ILlmVirtualKeyStore
{
    /// <summary>Every key, revoked ones included.</summary>
    ValueTask<IReadOnlyList<LlmStoredKey>> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Inserts or replaces a key (by <see cref="LlmVirtualKey.Id"/>).</summary>
    ValueTask SaveAsync(LlmStoredKey key, CancellationToken cancellationToken);
}
