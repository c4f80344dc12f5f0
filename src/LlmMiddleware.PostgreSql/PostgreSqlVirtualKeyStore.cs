using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace LlmMiddleware.PostgreSql;

/// <summary>
/// Virtual keys in a PostgreSQL table, shared by every instance: each save is announced on a LISTEN/NOTIFY channel (by
/// key id; the row is read back), so a key issued, rotated or revoked on one instance is in every other instance's
/// index as soon as the notification lands — milliseconds on a healthy database. A watcher listens before it loads.
/// </summary>
internal sealed class PostgreSqlVirtualKeyStore : ILlmVirtualKeyStore, IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlSchema _schema;
    private readonly PostgreSqlKeyStoreOptions _options;
    private readonly string _upsert;
    private readonly string _selectAll;
    private readonly string _selectOne;

    public PostgreSqlVirtualKeyStore(IOptions<PostgreSqlKeyStoreOptions> options)
    {
        _options = options.Value;
        _dataSource = NpgsqlDataSource.Create(_options.ConnectionString);
        var table = _options.TableName;
        _schema = new PostgreSqlSchema(_dataSource, $"""
            CREATE TABLE IF NOT EXISTS {table} (
                id text PRIMARY KEY,
                key jsonb NOT NULL,
                secrets jsonb NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now())
            """, _options.CreateTable);
        _upsert = $"""
            INSERT INTO {table} (id, key, secrets) VALUES (@id, @key, @secrets)
            ON CONFLICT (id) DO UPDATE SET key = excluded.key, secrets = excluded.secrets, updated_at = now();
            SELECT pg_notify('{_options.Channel}', @id);
            """;
        _selectAll = $"SELECT key, secrets FROM {table}";
        _selectOne = $"SELECT key, secrets FROM {table} WHERE id = @id";
    }

    public async ValueTask SaveAsync(LlmStoredKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand(_upsert);
        command.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Text) { Value = key.Key.Id });
        command.Parameters.Add(new NpgsqlParameter("key", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(key.Key, Json) });
        command.Parameters.Add(new NpgsqlParameter("secrets", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(key.Secrets, Json) });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<IReadOnlyList<LlmStoredKey>> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        var changed = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        await using var listener = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        listener.Notification += (_, e) => changed.Writer.TryWrite(e.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN \"{_options.Channel}\"", listener))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        yield return await ReadAsync(_selectAll, null, cancellationToken).ConfigureAwait(false);

        // Notifications arrive while the listening connection waits; the keys they name are read on another connection.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var waiting = PostgreSqlListener.WaitForNotificationsAsync(listener, changed.Writer, stop.Token);
        try
        {
            while (await changed.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var batch = new List<LlmStoredKey>();
                while (changed.Reader.TryRead(out var id))
                {
                    batch.AddRange(await ReadAsync(_selectOne, id, cancellationToken).ConfigureAwait(false));
                }

                yield return batch;
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

    private async Task<List<LlmStoredKey>> ReadAsync(string sql, string? id, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(sql);
        if (id is not null)
        {
            command.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Text) { Value = id });
        }

        var keys = new List<LlmStoredKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(new LlmStoredKey(
                JsonSerializer.Deserialize<LlmVirtualKey>(reader.GetString(0), Json)!,
                JsonSerializer.Deserialize<List<LlmKeySecret>>(reader.GetString(1), Json)!));
        }

        return keys;
    }
}
