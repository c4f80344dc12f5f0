using System.Buffers;
using LlmMiddleware.Telemetry;
using Microsoft.Extensions.Caching.Distributed;

namespace LlmMiddleware.Caching;

/// <summary>
/// The host's <see cref="IDistributedCache"/> as the response cache's second level, counting each write and its
/// outcome (<c>llm_gateway.cache.store.writes</c>): HybridCache writes the second level off the request path and
/// swallows its failures, so a store that refuses every write would otherwise go unnoticed. Keeps the store's own
/// buffer-based API (<see cref="IBufferDistributedCache"/>) when it has one, which HybridCache prefers.
/// </summary>
internal sealed class ObservedDistributedCache(IDistributedCache store, LlmUsageMetrics metrics) : IBufferDistributedCache
{
    private readonly IBufferDistributedCache? _buffers = store as IBufferDistributedCache;

    public byte[]? Get(string key) => store.Get(key);

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => store.GetAsync(key, token);

    public bool TryGet(string key, IBufferWriter<byte> destination) =>
        _buffers?.TryGet(key, destination) ?? Copy(store.Get(key), destination);

    public async ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default) =>
        _buffers is not null
            ? await _buffers.TryGetAsync(key, destination, token).ConfigureAwait(false)
            : Copy(await store.GetAsync(key, token).ConfigureAwait(false), destination);

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => Observe(() => store.Set(key, value, options));

    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) =>
        Observe(() =>
        {
            if (_buffers is not null)
            {
                _buffers.Set(key, value, options);
            }
            else
            {
                store.Set(key, value.ToArray(), options);
            }
        });

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        ObserveAsync(() => store.SetAsync(key, value, options, token));

    public async ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        await ObserveAsync(() => _buffers is not null ? _buffers.SetAsync(key, value, options, token).AsTask() : store.SetAsync(key, value.ToArray(), options, token)).ConfigureAwait(false);

    public void Refresh(string key) => store.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => store.RefreshAsync(key, token);

    public void Remove(string key) => store.Remove(key);

    public Task RemoveAsync(string key, CancellationToken token = default) => store.RemoveAsync(key, token);

    private static bool Copy(byte[]? value, IBufferWriter<byte> destination)
    {
        if (value is null)
        {
            return false;
        }

        destination.Write(value);
        return true;
    }

    private void Observe(Action write)
    {
        try
        {
            write();
            metrics.RecordStoreWrite("exact", stored: true);
        }
        catch
        {
            metrics.RecordStoreWrite("exact", stored: false);
            throw;
        }
    }

    private async Task ObserveAsync(Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
            metrics.RecordStoreWrite("exact", stored: true);
        }
        catch
        {
            metrics.RecordStoreWrite("exact", stored: false);
            throw;
        }
    }
}
