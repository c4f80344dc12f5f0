using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace LlmMiddleware.PostgreSql;

/// <summary>
/// The semantic cache's shared store: entries persist in a table, and each insert is announced on a LISTEN/NOTIFY
/// channel (by id; the row is read back), so every instance's in-memory index takes in every other instance's entries
/// within moments. A watcher listens before it loads what is stored, so no entry falls between the two.
/// </summary>
internal sealed class PostgreSqlSemanticCacheStore : ILlmSemanticCacheStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlSchema _schema;
    private readonly PostgreSqlCacheOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ExpiredRowsSweeper _sweeper;
    private readonly string _insert;
    private readonly string _selectLive;
    private readonly string _selectOne;

    public PostgreSqlSemanticCacheStore(IOptions<PostgreSqlCacheOptions> options, TimeProvider timeProvider)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _dataSource = NpgsqlDataSource.Create(_options.ConnectionString);
        var table = _options.SemanticTableName;
        _schema = new PostgreSqlSchema(_dataSource, $"""
            CREATE TABLE IF NOT EXISTS {table} (
                id uuid PRIMARY KEY,
                partition text NOT NULL,
                vector real[] NOT NULL,
                payload bytea NOT NULL,
                expires_at timestamptz NOT NULL);
            CREATE INDEX IF NOT EXISTS {table.Replace('.', '_')}_expires_at ON {table} (expires_at);
            """, _options.CreateTables);
        _sweeper = new ExpiredRowsSweeper(_dataSource, table, _options.ExpiredRowsSweepInterval);
        _insert = $"""
            INSERT INTO {table} (id, partition, vector, payload, expires_at) VALUES (@id, @partition, @vector, @payload, @expires_at) ON CONFLICT (id) DO NOTHING;
            SELECT pg_notify('{_options.Channel}', @id::text);
            """;
        _selectLive = $"SELECT id, partition, vector, payload, expires_at FROM {table} WHERE expires_at > @now ORDER BY id";
        _selectOne = $"SELECT id, partition, vector, payload, expires_at FROM {table} WHERE id = @id";
    }

    public async ValueTask AddAsync(LlmSemanticCacheRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand(_insert);
        command.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Uuid) { Value = record.Id });
        command.Parameters.Add(new NpgsqlParameter("partition", NpgsqlDbType.Text) { Value = record.Partition });
        command.Parameters.Add(new NpgsqlParameter("vector", NpgsqlDbType.Array | NpgsqlDbType.Real) { Value = record.Vector });
        command.Parameters.Add(new NpgsqlParameter("payload", NpgsqlDbType.Bytea) { Value = record.Payload });
        command.Parameters.Add(new NpgsqlParameter("expires_at", NpgsqlDbType.TimestampTz) { Value = record.ExpiresAt.UtcDateTime });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await _sweeper.SweepIfDueAsync(_timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<LlmSemanticCacheRecord> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        var announced = Channel.CreateUnbounded<Guid>(new UnboundedChannelOptions { SingleReader = true });
        await using var listener = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        listener.Notification += (_, e) =>
        {
            if (Guid.TryParse(e.Payload, out var id))
            {
                announced.Writer.TryWrite(id);
            }
        };
        await using (var listen = new NpgsqlCommand($"LISTEN \"{_options.Channel}\"", listener))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var load = _dataSource.CreateCommand(_selectLive))
        {
            load.Parameters.Add(new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = _timeProvider.GetUtcNow().UtcDateTime });
            await using var reader = await load.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return Read(reader);
            }
        }

        // Notifications arrive while the listening connection waits; the rows they name are read on another connection.
        // However the watch ends (cancelled, or its consumer stops), the wait stops before the connection is closed.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var waiting = PostgreSqlListener.WaitForNotificationsAsync(listener, announced.Writer, stop.Token);
        try
        {
            await foreach (var id in announced.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await using var select = _dataSource.CreateCommand(_selectOne);
                select.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Uuid) { Value = id });
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    yield return Read(reader);
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await waiting.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _schema.Dispose();
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    private static LlmSemanticCacheRecord Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetFieldValue<float[]>(2),
        reader.GetFieldValue<byte[]>(3),
        new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero));
}
