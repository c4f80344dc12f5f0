using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// The in-house <see cref="HybridCache"/> the gateway used before Microsoft.Extensions.Caching.Hybrid was on the package
/// source, kept here only as the baseline of <see cref="CacheBenchmarks"/>. As it was:
/// the gateway's default <see cref="HybridCache"/>, registered only when the host has none (a host's own
/// <c>AddHybridCache()</c> wins): an in-process L1 (<see cref="IMemoryCache"/>), the host's
/// <see cref="IDistributedCache"/> as L2 when one is registered, and stampede protection, so concurrent callers of one
/// missing key share a single factory run. Values cross L2 through a registered <see cref="IHybridCacheSerializer{T}"/>
/// or System.Text.Json. Tags are invalidated per instance (entries created before the invalidation are misses).
/// </summary>
internal sealed class PreviousHybridCache : HybridCache, IDisposable
{
    private static readonly HybridCacheEntryOptions Defaults = new() { Expiration = TimeSpan.FromMinutes(5), LocalCacheExpiration = TimeSpan.FromMinutes(5) };

    private readonly MemoryCache _local = new(new MemoryCacheOptions());
    private readonly IDistributedCache? _distributed;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _timeProvider;
    private readonly ConcurrentDictionary<string, object> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _tagInvalidations = new(StringComparer.Ordinal);
    private long _allInvalidated;

    public PreviousHybridCache(IServiceProvider services, TimeProvider timeProvider)
    {
        _services = services;
        _timeProvider = timeProvider;
        _distributed = services.GetService<IDistributedCache>();
    }

    public override async ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(factory);
        var flags = options?.Flags ?? HybridCacheEntryFlags.None;
        if (!flags.HasFlag(HybridCacheEntryFlags.DisableLocalCacheRead) && TryGetLocal(key, out T? local))
        {
            return local!;
        }

        // One run per key: later callers await the first caller's run (which is not cancelled by their cancellation).
        var run = new Lazy<Task<T>>(() => RunAsync(key, state, factory, options, tags, flags));
        var shared = (Lazy<Task<T>>)_inFlight.GetOrAdd(key, run);
        if (ReferenceEquals(shared, run))
        {
            // The run leaves the in-flight map when it ends, however its callers fare; a failed run is not remembered.
            _ = run.Value.ContinueWith(
                static (_, state) =>
                {
                    var (cache, key, run) = ((PreviousHybridCache, string, object))state!;
                    cache._inFlight.TryRemove(new KeyValuePair<string, object>(key, run));
                },
                (this, key, (object)run),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        return await shared.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var flags = options?.Flags ?? HybridCacheEntryFlags.None;
        SetLocal(key, value, options, tags, flags);
        if (_distributed is not null && !flags.HasFlag(HybridCacheEntryFlags.DisableDistributedCacheWrite))
        {
            await _distributed.SetAsync(key, Serialize(value), new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = (options ?? Defaults).Expiration ?? Defaults.Expiration }, cancellationToken).ConfigureAwait(false);
        }
    }

    public override async ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        _local.Remove(key);
        if (_distributed is not null)
        {
            await _distributed.RemoveAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    public override ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default)
    {
        var now = _timeProvider.GetTimestamp();
        if (tag == "*")
        {
            _allInvalidated = now;
        }
        else
        {
            _tagInvalidations[tag] = now;
        }

        return ValueTask.CompletedTask;
    }

    public void Dispose() => _local.Dispose();

    private async Task<T> RunAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory, HybridCacheEntryOptions? options, IEnumerable<string>? tags, HybridCacheEntryFlags flags)
    {
        await Task.Yield(); // the run starts off the caller's stack, so every caller only awaits it
        if (_distributed is not null && !flags.HasFlag(HybridCacheEntryFlags.DisableDistributedCacheRead))
        {
            var bytes = await _distributed.GetAsync(key).ConfigureAwait(false);
            if (bytes is not null)
            {
                var stored = Deserialize<T>(bytes);
                SetLocal(key, stored, options, tags, flags);
                return stored;
            }
        }

        var value = await factory(state, CancellationToken.None).ConfigureAwait(false);
        if (!flags.HasFlag(HybridCacheEntryFlags.DisableUnderlyingData))
        {
            await SetAsync(key, value, options, tags, CancellationToken.None).ConfigureAwait(false);
        }

        return value;
    }

    private bool TryGetLocal<T>(string key, out T? value)
    {
        if (_local.TryGetValue(key, out var found) && found is LocalEntry<T> entry && !IsInvalidated(entry))
        {
            value = entry.Value;
            return true;
        }

        value = default;
        return false;
    }

    private void SetLocal<T>(string key, T value, HybridCacheEntryOptions? options, IEnumerable<string>? tags, HybridCacheEntryFlags flags)
    {
        if (flags.HasFlag(HybridCacheEntryFlags.DisableLocalCacheWrite))
        {
            return;
        }

        var expiration = (options ?? Defaults).LocalCacheExpiration ?? (options ?? Defaults).Expiration ?? Defaults.LocalCacheExpiration!.Value;
        _local.Set(key, new LocalEntry<T>(value, tags?.ToArray() ?? [], _timeProvider.GetTimestamp()), expiration);
    }

    private bool IsInvalidated<T>(LocalEntry<T> entry)
    {
        if (entry.Created <= _allInvalidated)
        {
            return true;
        }

        foreach (var tag in entry.Tags)
        {
            if (_tagInvalidations.TryGetValue(tag, out var invalidated) && entry.Created <= invalidated)
            {
                return true;
            }
        }

        return false;
    }

    private byte[] Serialize<T>(T value)
    {
        if (FindSerializer<T>() is { } serializer)
        {
            var buffer = new ArrayBufferWriter<byte>();
            serializer.Serialize(value, buffer);
            return buffer.WrittenSpan.ToArray();
        }

        return JsonSerializer.SerializeToUtf8Bytes(value);
    }

    private T Deserialize<T>(byte[] bytes) =>
        FindSerializer<T>() is { } serializer ? serializer.Deserialize(new ReadOnlySequence<byte>(bytes)) : JsonSerializer.Deserialize<T>(bytes)!;

    private IHybridCacheSerializer<T>? FindSerializer<T>()
    {
        if (_services.GetService<IHybridCacheSerializer<T>>() is { } serializer)
        {
            return serializer;
        }

        foreach (var factory in _services.GetServices<IHybridCacheSerializerFactory>().Reverse())
        {
            if (factory.TryCreateSerializer<T>(out var created))
            {
                return created;
            }
        }

        return null;
    }

    private sealed record LocalEntry<T>(T Value, string[] Tags, long Created);
}
