using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// The semantic cache's shared store on Redis: each entry is a key that Redis expires itself, listed in a sorted set of
/// live entries (scored by expiry) and published whole on a pub/sub channel, all in one transaction. A watcher
/// subscribes before it loads the live entries, so none falls between the two; when the connection breaks the watch
/// ends with an error, and the next watch loads again what was announced while it was away.
/// </summary>
internal sealed class RedisSemanticCacheStore : ILlmSemanticCacheStore
{
    private const int LoadBatch = 256;
    private readonly RedisConnection _connection;
    private readonly RedisCacheStoreOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly RedisKey _index;
    private readonly RedisChannel _channel;
    private long _nextSweep;

    public RedisSemanticCacheStore(RedisConnection connection, IOptions<RedisCacheStoreOptions> options, TimeProvider timeProvider)
    {
        _connection = connection;
        _options = options.Value;
        _timeProvider = timeProvider;
        _index = _options.KeyPrefix + "semantic:live";
        _channel = RedisChannel.Literal(_options.Channel);
    }

    public async ValueTask AddAsync(LlmSemanticCacheRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var now = _timeProvider.GetUtcNow();
        var ttl = record.ExpiresAt - now;
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        var redis = await _connection.GetAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var bytes = RedisSemanticRecord.Encode(record);
        var transaction = redis.GetDatabase().CreateTransaction();
        _ = transaction.StringSetAsync(EntryKey(record.Id), bytes, ttl);
        _ = transaction.SortedSetAddAsync(_index, record.Id.ToString("N"), record.ExpiresAt.ToUnixTimeMilliseconds());
        _ = transaction.PublishAsync(_channel, bytes);
        var nowMs = now.ToUnixTimeMilliseconds();
        var due = Interlocked.Read(ref _nextSweep);
        if (nowMs >= due && Interlocked.CompareExchange(ref _nextSweep, nowMs + (long)_options.ExpiredEntriesSweepInterval.TotalMilliseconds, due) == due)
        {
            _ = transaction.SortedSetRemoveRangeByScoreAsync(_index, double.NegativeInfinity, nowMs);
        }

        await transaction.ExecuteAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<LlmSemanticCacheRecord> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var redis = await _connection.GetAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        using var broken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        EventHandler<ConnectionFailedEventArgs> onFailed = (_, _) => Cancel(broken);
        redis.ConnectionFailed += onFailed;
        var queue = await redis.GetSubscriber().SubscribeAsync(_channel).WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var database = redis.GetDatabase();
            var live = await database.SortedSetRangeByScoreAsync(_index, _timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), double.PositiveInfinity).WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var batch in live.Chunk(LoadBatch))
            {
                var values = await database.StringGetAsync([.. batch.Select(id => EntryKey((string)id!))]).WaitAsync(cancellationToken).ConfigureAwait(false);
                foreach (var value in values)
                {
                    if (RedisSemanticRecord.TryDecode(value, out var record))
                    {
                        yield return record;
                    }
                }
            }

            while (true)
            {
                var message = await ReadAsync(queue, broken.Token, cancellationToken).ConfigureAwait(false);
                if (RedisSemanticRecord.TryDecode(message.Message, out var record))
                {
                    yield return record;
                }
            }
        }
        finally
        {
            redis.ConnectionFailed -= onFailed;
            await UnsubscribeAsync(queue).ConfigureAwait(false);
        }
    }

    private RedisKey EntryKey(Guid id) => EntryKey(id.ToString("N"));

    private RedisKey EntryKey(string id) => _options.KeyPrefix + "semantic:" + id;

    private static async ValueTask<ChannelMessage> ReadAsync(ChannelMessageQueue queue, CancellationToken broken, CancellationToken stopping)
    {
        try
        {
            return await queue.ReadAsync(broken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new RedisException("The connection to Redis broke; announcements may have been missed, so the watch starts over.");
        }
    }

    private static void Cancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The watch ended meanwhile.
        }
    }

    private static async Task UnsubscribeAsync(ChannelMessageQueue queue)
    {
        try
        {
            await queue.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (RedisException)
        {
            // Redis is away: the subscription is gone with the connection.
        }
    }
}
