using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// What Redis-counted budgets and limits share: the connection, key names (all under one hash tag, so every script's
/// keys are on one node of a cluster) and what happens while Redis is unreachable — a 503 or this instance's own
/// counters, as configured, said once in the log when it starts and stops, and on every affected call in a metric.
/// </summary>
internal sealed partial class RedisGovernance : IAsyncDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _connection;
    private readonly ILogger<RedisGovernance> _logger;
    private readonly Counter<long> _unavailable;
    private int _down;

    public RedisGovernance(IOptions<RedisGovernanceOptions> options, IMeterFactory meters, ILogger<RedisGovernance> logger)
    {
        Options = options.Value;
        _logger = logger;
        _connection = new(() => RedisConnection.ConnectAsync(Options.ConnectionString));
        _unavailable = meters.Create("LlmMiddleware").CreateCounter<long>("llm_gateway.governance.store_unavailable", "{request}", "Calls checked while the governance store (Redis) was unreachable, by llm_gateway.governance.failure_mode: closed (refused with 503) or open (checked against this instance's share).");
    }

    public RedisGovernanceOptions Options { get; }

    public bool FailsOpen => Options.FailureMode == RedisGovernanceFailureMode.FailOpen;

    /// <summary>A key under the governance hash tag: <c>{prefix}{gov}:{name}</c>.</summary>
    public RedisKey Key(string name) => $"{Options.KeyPrefix}{{gov}}:{name}";

    public async Task<RedisResult> EvaluateAsync(string script, RedisKey[] keys, RedisValue[] values)
    {
        var redis = await _connection.Value.ConfigureAwait(false);
        var result = await redis.GetDatabase().ScriptEvaluateAsync(script, keys, values).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _down, 0) == 1)
        {
            Log.Back(_logger);
        }

        return result;
    }

    public async Task SubscribeAsync(RedisChannel channel, Action<RedisChannel, RedisValue> handler) =>
        await (await _connection.Value.ConfigureAwait(false)).GetSubscriber().SubscribeAsync(channel, handler).ConfigureAwait(false);

    public async Task PublishAsync(RedisChannel channel, RedisValue message) =>
        await (await _connection.Value.ConfigureAwait(false)).GetSubscriber().PublishAsync(channel, message).ConfigureAwait(false);

    public async Task<RedisValue> GetAsync(RedisKey key) =>
        await (await _connection.Value.ConfigureAwait(false)).GetDatabase().StringGetAsync(key).ConfigureAwait(false);

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> for <paramref name="lifetime"/>; deletes it when there is none.</summary>
    public async Task SetAsync(RedisKey key, RedisValue value, TimeSpan? lifetime)
    {
        var database = (await _connection.Value.ConfigureAwait(false)).GetDatabase();
        _ = lifetime is { } expiry ? await database.StringSetAsync(key, value, expiry).ConfigureAwait(false) : await database.KeyDeleteAsync(key).ConfigureAwait(false);
    }

    /// <summary>The keys matching <paramref name="pattern"/> (SCAN, not KEYS: Redis is not blocked), for reports.</summary>
    public async IAsyncEnumerable<string> ScanAsync(string pattern)
    {
        var redis = await _connection.Value.ConfigureAwait(false);
        foreach (var server in redis.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: pattern).ConfigureAwait(false))
            {
                yield return key.ToString();
            }
        }
    }

    /// <summary>Notes a call checked while Redis is unreachable (a metric; a log line when it starts).</summary>
    public void NoteUnreachable(Exception exception)
    {
        _unavailable.Add(1, new KeyValuePair<string, object?>("llm_gateway.governance.failure_mode", FailsOpen ? "open" : "closed"));
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            Log.Down(_logger, FailsOpen ? $"checking calls against this instance's 1/{Options.Replicas} share" : "refusing calls with 503", exception);
        }
    }

    /// <summary>Notes a call checked while Redis is unreachable; fails it with a 503 unless the store fails open.</summary>
    public void Unreachable(Exception exception)
    {
        NoteUnreachable(exception);
        if (!FailsOpen)
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.Overloaded, "The gateway cannot check budgets and rate limits right now: their shared store is unreachable. Try again shortly.", 503)
            {
                Code = "governance_unavailable",
            });
        }
    }

    /// <summary>Notes a settlement that could not reach Redis (its hold lapses after <see cref="RedisGovernanceOptions.HoldTimeout"/>).</summary>
    public void SettlementLost(Exception exception) => Log.SettlementLost(_logger, Options.HoldTimeout, exception);

    /// <summary>Notes a cooldown that could not be shared (or read) through Redis: it stays this instance's own.</summary>
    public void CooldownNotShared(Exception exception) => Log.CooldownNotShared(_logger, exception);

    public static bool IsUnreachable(Exception exception) => exception is RedisException or TimeoutException or ObjectDisposedException;

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            await (await _connection.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Warning, "The governance store (Redis) is unreachable: {Mode} until it is back.", EventName = "GovernanceStoreDown")]
        public static partial void Down(ILogger logger, string mode, Exception exception);

        [LoggerMessage(41, LogLevel.Information, "The governance store (Redis) is reachable again: budgets and limits are shared again.", EventName = "GovernanceStoreBack")]
        public static partial void Back(ILogger logger);

        [LoggerMessage(42, LogLevel.Error, "A call's budget or limit settlement could not reach Redis; its hold lapses within {Timeout}.", EventName = "GovernanceSettlementLost")]
        public static partial void SettlementLost(ILogger logger, TimeSpan timeout, Exception exception);

        [LoggerMessage(43, LogLevel.Warning, "A deployment cooldown could not be shared through Redis; it stays this instance's own.", EventName = "CooldownNotShared")]
        public static partial void CooldownNotShared(ILogger logger, Exception exception);
    }
}
