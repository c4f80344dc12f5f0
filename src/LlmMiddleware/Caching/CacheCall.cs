using LlmMiddleware.Protocols;

namespace LlmMiddleware.Caching;

/// <summary>
/// One cacheable call that is going to a provider: where its answer goes when it completes. A stampede leader hands
/// the answer to the callers waiting on its key (through the <see cref="Microsoft.Extensions.Caching.Hybrid.HybridCache"/>
/// factory it was elected by); otherwise the answer is written to the cache directly. Disposing an unfinished call
/// releases the waiters, so no failure path can leave them hanging. Once the call goes to a provider to fill the
/// cache, it observes the response to keep what it will store.
/// </summary>
internal sealed class CacheCall : ILlmResponseObserver, IDisposable
{
    private ResponseBuilder? _builder;

    private readonly TaskCompletionSource<LlmCacheEntry> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _elected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CacheCall(LlmResponseCache cache, string key, ResolvedCachePolicy policy, string[] tags)
    {
        Cache = cache;
        Key = key;
        Policy = policy;
        Tags = tags;
    }

    /// <summary>The cache the call fills.</summary>
    public LlmResponseCache Cache { get; }

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

    /// <summary>Whether the call fills the cache: it observes its response and stores it once complete.</summary>
    public bool Fills { get; private set; }

    /// <summary>The complete response, once observed.</summary>
    public LlmResponse? Response { get; private set; }

    /// <summary>Makes the call fill the cache with the response <paramref name="context"/> is about to get.</summary>
    public void Fill(LlmRequestContext context)
    {
        Fills = true;
        context.Observe(this);
    }

    public void OnResponse(LlmResponse response) => Response = response;

    public void Start(string id, string model) => (_builder = new ResponseBuilder()).Start(id, model);

    public void Text(ReadOnlySpan<byte> jsonString) => _builder?.Text(jsonString);

    public void Reasoning(ReadOnlySpan<byte> jsonString) => _builder?.Reasoning(jsonString);

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString) => _builder?.ReasoningSignature(jsonString);

    public void ToolCallStart(int index, string id, string name) => _builder?.ToolCallStart(index, id, name);

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString) => _builder?.ToolCallArguments(index, jsonString);

    public void Usage(in LlmUsage usage) => _builder?.Usage(usage);

    public void Finish(LlmFinishReason reason, string? stopSequence) => _builder?.Finish(reason, stopSequence);

    public void Error(LlmError error) => _builder = null;

    public void Complete() => Response = _builder?.Build();

    public void Dispose() => Abandon();
}

/// <summary>The leader of a stampede had no answer to share (its call failed, was cut, or is not cacheable).</summary>
internal sealed class LlmCacheAbandonedException() : Exception("The call that was filling this cache entry ended without a cacheable answer.");
