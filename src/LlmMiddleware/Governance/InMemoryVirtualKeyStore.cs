using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace LlmMiddleware.Governance;

/// <summary>The default store: this instance's memory, lost on restart (keys from configuration come back with it).
/// Only this instance writes it, so there are no changes to follow after the first load.</summary>
internal sealed class InMemoryVirtualKeyStore : ILlmVirtualKeyStore
{
    private readonly ConcurrentDictionary<string, LlmStoredKey> _keys = new(StringComparer.Ordinal);

    public async IAsyncEnumerable<IReadOnlyList<LlmStoredKey>> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return [.. _keys.Values];
    }

    public ValueTask SaveAsync(LlmStoredKey key, CancellationToken cancellationToken)
    {
        _keys[key.Key.Id] = key;
        return ValueTask.CompletedTask;
    }
}
