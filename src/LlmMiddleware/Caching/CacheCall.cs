namespace LlmMiddleware.Caching;

/// <summary>
/// One cacheable call that is going to a provider: where its answer goes when it completes. A stampede leader hands
/// the answer to the callers waiting on its key (through the <see cref="Microsoft.Extensions.Caching.Hybrid.HybridCache"/>
/// factory it was elected by); otherwise the answer is written to the cache directly. Disposing an unfinished call
/// releases the waiters, so no failure path can leave them hanging.
/// </summary>
internal sealed class CacheCall : IDisposable
{
    private readonly TaskCompletionSource<LlmCacheEntry> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _elected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CacheCall(string key, ResolvedCachePolicy policy, string[] tags)
    {
        Key = key;
        Policy = policy;
        Tags = tags;
    }

    public string Key { get; }

    public ResolvedCachePolicy Policy { get; }

    public string[] Tags { get; }

    /// <summary>Whether this call fills its key for waiting callers (it won the stampede election).</summary>
    public bool IsLeader => _elected.Task.IsCompleted;

    /// <summary>Completes when the cache elects this call to produce the key's value.</summary>
    public Task Elected => _elected.Task;

    /// <summary>The semantic partition and embedding of the request, when the answer also goes to the semantic cache.</summary>
    public string? Partition { get; set; }

    public float[]? Vector { get; set; }

    /// <summary>The cache's factory: elects this call and waits for its answer.</summary>
    public ValueTask<LlmCacheEntry> ElectAsync()
    {
        _elected.TrySetResult();
        return new ValueTask<LlmCacheEntry>(_answer.Task);
    }

    public void Answer(LlmCacheEntry entry) => _answer.TrySetResult(entry);

    /// <summary>No answer to share: the waiters call the provider themselves, and the cache stores nothing.</summary>
    public void Abandon() => _answer.TrySetException(new LlmCacheAbandonedException());

    public void Dispose() => Abandon();
}

/// <summary>The leader of a stampede had no answer to share (its call failed, was cut, or is not cacheable).</summary>
internal sealed class LlmCacheAbandonedException() : Exception("The call that was filling this cache entry ended without a cacheable answer.");
