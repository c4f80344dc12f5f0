using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace LlmMiddleware.PostgreSql;

/// <summary>
/// An <see cref="IDistributedCache"/> in PostgreSQL: the exact cache's second level, shared by every gateway instance
/// that points at the same database. Expiry is absolute or sliding, enforced on read; expired rows are swept by the
/// next write after <see cref="PostgreSqlCacheOptions.ExpiredRowsSweepInterval"/>.
/// </summary>
internal sealed class PostgreSqlDistributedCache : IDistributedCache, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlSchema _schema;
    private readonly TimeProvider _timeProvider;
    private readonly PostgreSqlCacheOptions _options;
    private readonly string _get;
    private readonly string _refresh;
    private readonly string _set;
    private readonly string _remove;
    private readonly ExpiredRowsSweeper _sweeper;

    public PostgreSqlDistributedCache(IOptions<PostgreSqlCacheOptions> options, TimeProvider timeProvider)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _dataSource = NpgsqlDataSource.Create(_options.ConnectionString);
        var table = _options.TableName;
        _schema = new PostgreSqlSchema(_dataSource, $"""
            CREATE TABLE IF NOT EXISTS {table} (
                key text PRIMARY KEY,
                value bytea NOT NULL,
                expires_at timestamptz NOT NULL,
                sliding_ms bigint,
                absolute_expires_at timestamptz);
            CREATE INDEX IF NOT EXISTS {table.Replace('.', '_')}_expires_at ON {table} (expires_at);
            """, _options.CreateTables);

        // A read of a sliding entry moves its expiry, never past its absolute expiry.
        const string Slide = "expires_at = LEAST(@now + make_interval(secs => sliding_ms / 1000.0), COALESCE(absolute_expires_at, 'infinity'))";
        // Reads of entries without sliding expiry (all of the gateway's) write nothing.
        _refresh = $"UPDATE {table} SET {Slide} WHERE key = @key AND expires_at > @now AND sliding_ms IS NOT NULL";
        _get = $"WITH slid AS ({_refresh}) SELECT value FROM {table} WHERE key = @key AND expires_at > @now";
        _set = $"""
            INSERT INTO {table} (key, value, expires_at, sliding_ms, absolute_expires_at) VALUES (@key, @value, @expires_at, @sliding_ms, @absolute)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, sliding_ms = excluded.sliding_ms, absolute_expires_at = excluded.absolute_expires_at
            """;
        _remove = $"DELETE FROM {table} WHERE key = @key";
        _sweeper = new ExpiredRowsSweeper(_dataSource, table, _options.ExpiredRowsSweepInterval);
    }

    // The gateway uses only the asynchronous members; the synchronous ones serve other users of IDistributedCache.
    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await _schema.EnsureAsync(token).ConfigureAwait(false);
        await using var command = Command(_get, key);
        return await command.ExecuteScalarAsync(token).ConfigureAwait(false) as byte[];
    }

    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    public async Task RefreshAsync(string key, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await _schema.EnsureAsync(token).ConfigureAwait(false);
        await using var command = Command(_refresh, key);
        await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
    }

    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    public async Task RemoveAsync(string key, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await _schema.EnsureAsync(token).ConfigureAwait(false);
        await using var command = Command(_remove, key);
        await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    public async Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(options);
        await _schema.EnsureAsync(token).ConfigureAwait(false);
        var now = _timeProvider.GetUtcNow();
        DateTimeOffset? absolute = options.AbsoluteExpiration ?? (now + options.AbsoluteExpirationRelativeToNow);
        var sliding = options.SlidingExpiration;
        var expires = sliding is { } slide ? Min(now + slide, absolute) : absolute ?? DateTimeOffset.MaxValue;

        await using var command = Command(_set, key);
        command.Parameters.Add(new NpgsqlParameter("value", NpgsqlDbType.Bytea) { Value = value });
        command.Parameters.Add(new NpgsqlParameter("expires_at", NpgsqlDbType.TimestampTz) { Value = expires == DateTimeOffset.MaxValue ? DateTime.MaxValue.ToUniversalTime() : expires.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter("sliding_ms", NpgsqlDbType.Bigint) { Value = sliding is { } s ? (long)s.TotalMilliseconds : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("absolute", NpgsqlDbType.TimestampTz) { Value = absolute is { } a ? a.UtcDateTime : DBNull.Value });
        await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
        await _sweeper.SweepIfDueAsync(now, token).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _schema.Dispose();
        return _dataSource.DisposeAsync();
    }

    private NpgsqlCommand Command(string sql, string key)
    {
        var command = _dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter("key", NpgsqlDbType.Text) { Value = key });
        command.Parameters.Add(new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = _timeProvider.GetUtcNow().UtcDateTime });
        return command;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset? b) => b is { } other && other < a ? other : a;
}
