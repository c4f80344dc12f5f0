using System.Collections.Concurrent;
using System.Numerics.Tensors;
using LlmMiddleware.Gateway;
using LlmMiddleware.Telemetry;
using LlmMiddleware.Utilities;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Caching.Semantic;

/// <summary>
/// The semantic cache: embeds requests, keeps every partition's vectors in memory for lookups, evicts the oldest
/// entries beyond <see cref="LlmSemanticCacheOptions.MaxEntries"/>, and, with an <see cref="ILlmSemanticCacheStore"/>,
/// persists entries and takes in those of other instances as the store announces them.
/// </summary>
internal sealed partial class LlmSemanticCache : BackgroundService
{
    private readonly IServiceProvider _services;
    private readonly LlmSemanticCacheOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<LlmSemanticCache> _logger;
    private readonly LlmUsageMetrics _metrics;
    private readonly ILlmSemanticCacheStore? _store;
    private readonly ConcurrentDictionary<string, VectorPartition> _partitions = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<SemanticSlot> _age = new();
    private readonly ConcurrentDictionary<Guid, byte> _known = new();
    private readonly Lazy<(IEmbeddingGenerator<string, Embedding<float>> Generator, string Id)> _embedder;
    private int _count;
    private long _bytes;

    public LlmSemanticCache(IServiceProvider services, IOptions<LlmGatewayOptions> options, TimeProvider timeProvider, LlmUsageMetrics metrics, ILogger<LlmSemanticCache> logger)
    {
        _services = services;
        _options = options.Value.Cache.Semantic;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
        _store = services.GetService<ILlmSemanticCacheStore>();
        _embedder = new(ResolveEmbedder);
    }

    /// <summary>Names the embedder, so vectors of different embedders never share a partition.</summary>
    public string EmbedderId => _embedder.Value.Id;

    /// <summary>The request's unit-length embedding; <see langword="null"/> when embedding failed (logged; the lookup is a miss).</summary>
    public async ValueTask<float[]?> EmbedAsync(string text, LlmCallerIdentity caller, CancellationToken cancellationToken)
    {
        try
        {
            var generator = _embedder.Value.Generator;
            var embeddings = generator is ICallerEmbeddingGenerator gateway
                ? await gateway.GenerateAsync([text], caller, cancellationToken).ConfigureAwait(false)
                : await generator.GenerateAsync([text], cancellationToken: cancellationToken).ConfigureAwait(false);
            var vector = embeddings[0].Vector.ToArray();
            var norm = TensorPrimitives.Norm(vector);
            if (norm <= 0 || !float.IsFinite(norm))
            {
                return null;
            }

            TensorPrimitives.Divide(vector, norm, vector);
            return vector;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.EmbeddingFailed(_logger, ex);
            return null;
        }
    }

    /// <summary>The most similar unexpired answer in <paramref name="partition"/> at or above <paramref name="threshold"/>.</summary>
    public LlmCacheEntry? Find(string partition, float[] vector, double threshold) =>
        _partitions.TryGetValue(partition, out var vectors) && vectors.Dimensions == vector.Length
            ? vectors.Find(vector, (float)threshold, _timeProvider.GetUtcNow().UtcTicks)?.Entry
            : null;

    /// <summary>Partitions held on this instance (each with at least one entry, but for races).</summary>
    internal int PartitionCount => _partitions.Count;

    /// <summary>Adds an answer on this instance and, with a store, for every instance.</summary>
    public void Add(string partition, float[] vector, LlmCacheEntry entry, DateTimeOffset expiresAt)
    {
        var id = UuidV7.Create(_timeProvider.GetUtcNow());
        AddLocal(id, partition, vector, entry, expiresAt);
        if (_store is not null)
        {
            _ = PersistAsync(new LlmSemanticCacheRecord(id, partition, vector, LlmCacheEntrySerializer.Instance.ToBytes(entry), expiresAt));
        }
    }

    private void AddLocal(Guid id, string partition, float[] vector, LlmCacheEntry entry, DateTimeOffset expiresAt)
    {
        if (!_known.TryAdd(id, 0))
        {
            return;
        }

        var vectors = _partitions.GetOrAdd(partition, static (key, state) => new VectorPartition(state.Length, state.Threshold) { Key = key }, (vector.Length, Threshold: _options.IndexThreshold));
        if (vectors.Dimensions != vector.Length)
        {
            return;
        }

        var slot = vectors.Add(vector, entry, expiresAt.UtcTicks, id);
        slot.Bytes = EstimateBytes(vector, entry);
        _age.Enqueue(slot);
        if (Interlocked.Increment(ref _count) > _options.MaxEntries | Interlocked.Add(ref _bytes, slot.Bytes) > _options.MaxBytes)
        {
            EvictOldest();
        }
    }

    /// <summary>What an entry holds in memory: its vector, its answer's text (UTF-16) and a fixed overhead.</summary>
    private static long EstimateBytes(float[] vector, LlmCacheEntry entry)
    {
        long chars = 0;
        foreach (var part in entry.Response.Content)
        {
            chars += part switch
            {
                LlmTextPart text => text.Text.Length,
                LlmToolCallPart call => call.Name.Length + call.ArgumentsJson.Length,
                LlmReasoningPart reasoning => (reasoning.Text?.Length ?? 0) + (reasoning.Signature?.Length ?? 0),
                _ => 256,
            };
        }

        return (vector.Length * sizeof(float)) + (chars * sizeof(char)) + 512;
    }

    private void EvictOldest()
    {
        while ((Volatile.Read(ref _count) > _options.MaxEntries || Volatile.Read(ref _bytes) > _options.MaxBytes) && _age.TryDequeue(out var oldest))
        {
            oldest.Partition.Remove(oldest);
            _known.TryRemove(oldest.Id, out _);
            Interlocked.Decrement(ref _count);
            Interlocked.Add(ref _bytes, -oldest.Bytes);
            if (oldest.Partition.Count == 0)
            {
                // An emptied partition goes too, or callers varying their system prompts would grow the map forever.
                _partitions.TryRemove(new KeyValuePair<string, VectorPartition>(oldest.Partition.Key, oldest.Partition));
            }
        }
    }

    private async Task PersistAsync(LlmSemanticCacheRecord record)
    {
        try
        {
            await _store!.AddAsync(record, CancellationToken.None).ConfigureAwait(false);
            _metrics.RecordStoreWrite("semantic", stored: true);
        }
        catch (Exception ex)
        {
            _metrics.RecordStoreWrite("semantic", stored: false);
            Log.StoreFailed(_logger, ex);
        }
    }

    /// <summary>Takes in the store's entries: those already stored at start, then other instances' as they come.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_store is null)
        {
            return;
        }

        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var record in _store.WatchAsync(stoppingToken).ConfigureAwait(false))
                {
                    delay = TimeSpan.FromSeconds(1);
                    if (record.ExpiresAt > _timeProvider.GetUtcNow() && !_known.ContainsKey(record.Id) && Read(record) is { } entry)
                    {
                        AddLocal(record.Id, record.Partition, record.Vector, entry, record.ExpiresAt);
                        _metrics.RecordSemanticReceived();
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store is unreachable: this instance keeps serving its own entries and reconnects with backoff.
                Log.StoreFailed(_logger, ex);
                await Task.Delay(delay, _timeProvider, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
            }
        }
    }

    /// <summary>The entry of a stored record; a record this instance cannot read (written by another version, or
    /// damaged) is skipped and logged, rather than failing the watch, which would then read it again forever.</summary>
    private LlmCacheEntry? Read(LlmSemanticCacheRecord record)
    {
        try
        {
            return LlmCacheEntrySerializer.Instance.FromBytes(record.Payload);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.RecordUnreadable(_logger, record.Id, ex);
            return null;
        }
    }

    private (IEmbeddingGenerator<string, Embedding<float>>, string) ResolveEmbedder()
    {
        if (_services.GetKeyedService<IEmbeddingGenerator<string, Embedding<float>>>(LlmSemanticCacheOptions.EmbeddingGeneratorKey) is { } host)
        {
            var metadata = host.GetService<EmbeddingGeneratorMetadata>();
            return (host, $"host:{metadata?.ProviderName}/{metadata?.DefaultModelId}");
        }

        if (_options.EmbeddingModel is { } model)
        {
            return (_services.GetRequiredService<GatewayEmbedderFactory>()(model), "gateway:" + model);
        }

        return (new LlmLexicalEmbeddingGenerator(), "lexical-v1");
    }

    private static partial class Log
    {
        [LoggerMessage(11, LogLevel.Warning, "Embedding a request for the semantic cache failed; it is looked up in the exact cache only.", EventName = "EmbeddingFailed")]
        public static partial void EmbeddingFailed(ILogger logger, Exception exception);

        [LoggerMessage(12, LogLevel.Warning, "The semantic cache store failed; this instance keeps its own entries and retries.", EventName = "SemanticStoreFailed")]
        public static partial void StoreFailed(ILogger logger, Exception exception);

        [LoggerMessage(13, LogLevel.Warning, "Semantic cache entry {RecordId} in the store cannot be read by this instance; it is skipped.", EventName = "SemanticRecordUnreadable")]
        public static partial void RecordUnreadable(ILogger logger, Guid recordId, Exception exception);
    }
}
