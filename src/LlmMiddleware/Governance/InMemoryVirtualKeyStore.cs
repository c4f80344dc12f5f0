using System.Collections.Concurrent;

namespace LlmMiddleware.Governance;

/// <summary>The default store: this instance's memory, lost on restart (keys from configuration come back with it).</summary>
internal sealed class InMemoryVirtualKeyStore : ILlmVirtualKeyStore
{
    private readonly ConcurrentDictionary<string, LlmStoredKey> _keys = new(StringComparer.Ordinal);

    public ValueTask<IReadOnlyList<LlmStoredKey>> LoadAsync(CancellationToken cancellationToken) => new([.. _keys.Values]);

    public ValueTask SaveAsync(LlmStoredKey key, CancellationToken cancellationToken)
    {
        _keys[key.Key.Id] = key;
        return ValueTask.CompletedTask;
    }
}
