using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace LlmMiddleware.PostgreSql;

/// <summary>
/// A durable ledger of call records in PostgreSQL, shared by every gateway instance that points at it. Batches arrive
/// from the gateway's record dispatcher (off the request path) and are written with one multi-row insert; record ids
/// are the primary key and duplicates are ignored, so a batch retried after an unclear failure is never double-counted.
/// Text the caller chose (model names, user ids, tags) is stored as <see cref="LedgerText"/> makes it storable; a record
/// PostgreSQL still refuses (a cost past <c>numeric(20, 10)</c>) makes the batch throw
/// <see cref="LlmCallRecordRejectedException"/>, so the dispatcher quarantines that record alone.
/// </summary>
internal sealed class PostgreSqlCallLedger : ILlmCallRecordSink, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlLedgerOptions _options;
    private readonly PostgreSqlSchema _schema;
    private readonly string _insert;

    public PostgreSqlCallLedger(IOptions<PostgreSqlLedgerOptions> options)
    {
        _options = options.Value;
        _dataSource = NpgsqlDataSource.Create(_options.ConnectionString);
        var table = _options.TableName;
        var index = table.Replace('.', '_');
        _schema = new PostgreSqlSchema(_dataSource, $"""
            CREATE TABLE IF NOT EXISTS {table} (
                id uuid PRIMARY KEY,
                request_id text NOT NULL,
                ts timestamptz NOT NULL,
                caller_key text, team text, app text, user_id text, tags jsonb,
                operation text NOT NULL,
                requested_model text NOT NULL,
                provider text, deployment text, model text,
                stream boolean NOT NULL,
                input_tokens bigint NOT NULL, cached_input_tokens bigint NOT NULL, cache_write_input_tokens bigint NOT NULL,
                output_tokens bigint NOT NULL, reasoning_tokens bigint NOT NULL, images integer NOT NULL,
                token_source text NOT NULL,
                cost numeric(20, 10), price_version text, unpriced boolean NOT NULL,
                status text NOT NULL, status_code integer, error_code text, role text NOT NULL,
                time_to_first_token_ms double precision, duration_ms double precision);
            ALTER TABLE {table} ADD COLUMN IF NOT EXISTS cache text NOT NULL DEFAULT 'None';
            ALTER TABLE {table} ADD COLUMN IF NOT EXISTS saved_cost numeric(20, 10);
            ALTER TABLE {table} ADD COLUMN IF NOT EXISTS tokenizer text;
            ALTER TABLE {table} ADD COLUMN IF NOT EXISTS experiment text;
            ALTER TABLE {table} ADD COLUMN IF NOT EXISTS arm text;
            ALTER TABLE {table} ADD COLUMN IF NOT EXISTS task text;
            ALTER TABLE {table} ADD COLUMN IF NOT EXISTS retries integer NOT NULL DEFAULT 0;
            ALTER TABLE {table} ADD COLUMN IF NOT EXISTS fallbacks integer NOT NULL DEFAULT 0;
            CREATE INDEX IF NOT EXISTS {index}_experiment ON {table} (experiment, ts) WHERE experiment IS NOT NULL;
            CREATE INDEX IF NOT EXISTS {index}_ts ON {table} (ts);
            CREATE INDEX IF NOT EXISTS {index}_caller_key_ts ON {table} (caller_key, ts);
            CREATE INDEX IF NOT EXISTS {index}_team_ts ON {table} (team, ts);
            {LedgerRollups.Script(table)}
            """, _options.CreateTable);
        var insert = $"""
            INSERT INTO {_options.TableName} (id, request_id, ts, caller_key, team, app, user_id, tags, operation, requested_model,
                provider, deployment, model, stream, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens,
                reasoning_tokens, images, token_source, cost, price_version, unpriced, status, status_code, error_code, role,
                time_to_first_token_ms, duration_ms, cache, saved_cost, tokenizer, experiment, arm, task, retries, fallbacks)
            SELECT * FROM unnest(@id, @request_id, @ts, @caller_key, @team, @app, @user_id, @tags, @operation, @requested_model,
                @provider, @deployment, @model, @stream, @input_tokens, @cached_input_tokens, @cache_write_input_tokens, @output_tokens,
                @reasoning_tokens, @images, @token_source, @cost, @price_version, @unpriced, @status, @status_code, @error_code, @role,
                @ttft_ms, @duration_ms, @cache, @saved_cost, @tokenizer, @experiment, @arm, @task, @retries, @fallbacks)
            ON CONFLICT (id) DO NOTHING
            """;
        _insert = string.IsNullOrEmpty(_options.NotifyChannel) ? insert
            : $"WITH added AS ({insert} RETURNING 1) SELECT pg_notify('{_options.NotifyChannel}', count(*)::text) FROM added";
    }

    /// <summary>The ledger's database, schema and table, for queries over it (<see cref="PostgreSqlSpendReport"/>).</summary>
    internal (NpgsqlDataSource DataSource, PostgreSqlSchema Schema, string Table) Store => (_dataSource, _schema, _options.TableName);

    public async ValueTask WriteAsync(IReadOnlyList<LlmCallRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return;
        }

        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand(_insert);
        var p = command.Parameters;
        p.Add(Column("id", records, r => r.Id, NpgsqlDbType.Uuid));
        p.Add(Column("request_id", records, r => LedgerText.Clean(r.RequestId), NpgsqlDbType.Text));
        p.Add(Column("ts", records, r => r.Timestamp.ToUniversalTime(), NpgsqlDbType.TimestampTz));
        p.Add(Column("caller_key", records, r => LedgerText.Clean(r.Caller.Key), NpgsqlDbType.Text));
        p.Add(Column("team", records, r => LedgerText.Clean(r.Caller.Team), NpgsqlDbType.Text));
        p.Add(Column("app", records, r => LedgerText.Clean(r.Caller.App), NpgsqlDbType.Text));
        p.Add(Column("user_id", records, r => LedgerText.Clean(r.Caller.User), NpgsqlDbType.Text));
        p.Add(Column("tags", records, r => r.Caller.Tags is { Count: > 0 } tags ? JsonSerializer.Serialize(LedgerText.Clean(tags)) : null, NpgsqlDbType.Jsonb));
        p.Add(Column("operation", records, r => LedgerText.Clean(r.Operation), NpgsqlDbType.Text));
        p.Add(Column("requested_model", records, r => LedgerText.Clean(r.RequestedModel), NpgsqlDbType.Text));
        p.Add(Column("provider", records, r => LedgerText.Clean(r.Provider), NpgsqlDbType.Text));
        p.Add(Column("deployment", records, r => LedgerText.Clean(r.Deployment), NpgsqlDbType.Text));
        p.Add(Column("model", records, r => LedgerText.Clean(r.Model), NpgsqlDbType.Text));
        p.Add(Column("stream", records, r => r.Stream, NpgsqlDbType.Boolean));
        p.Add(Column("input_tokens", records, r => r.InputTokens, NpgsqlDbType.Bigint));
        p.Add(Column("cached_input_tokens", records, r => r.CachedInputTokens, NpgsqlDbType.Bigint));
        p.Add(Column("cache_write_input_tokens", records, r => r.CacheWriteInputTokens, NpgsqlDbType.Bigint));
        p.Add(Column("output_tokens", records, r => r.OutputTokens, NpgsqlDbType.Bigint));
        p.Add(Column("reasoning_tokens", records, r => r.ReasoningTokens, NpgsqlDbType.Bigint));
        p.Add(Column("images", records, r => r.Images, NpgsqlDbType.Integer));
        p.Add(Column("token_source", records, r => r.TokenSource.ToString(), NpgsqlDbType.Text));
        p.Add(Column("cost", records, r => r.Cost, NpgsqlDbType.Numeric));
        p.Add(Column("price_version", records, r => LedgerText.Clean(r.PriceVersion), NpgsqlDbType.Text));
        p.Add(Column("unpriced", records, r => r.Unpriced, NpgsqlDbType.Boolean));
        p.Add(Column("status", records, r => r.Status.ToString(), NpgsqlDbType.Text));
        p.Add(Column("status_code", records, r => r.StatusCode, NpgsqlDbType.Integer));
        p.Add(Column("error_code", records, r => LedgerText.Clean(r.ErrorCode), NpgsqlDbType.Text));
        p.Add(Column("role", records, r => r.Role.ToString(), NpgsqlDbType.Text));
        p.Add(Column("ttft_ms", records, r => r.TimeToFirstToken?.TotalMilliseconds, NpgsqlDbType.Double));
        p.Add(Column("duration_ms", records, r => r.Duration?.TotalMilliseconds, NpgsqlDbType.Double));
        p.Add(Column("cache", records, r => r.Cache.ToString(), NpgsqlDbType.Text));
        p.Add(Column("saved_cost", records, r => r.SavedCost, NpgsqlDbType.Numeric));
        p.Add(Column("tokenizer", records, r => LedgerText.Clean(r.Tokenizer), NpgsqlDbType.Text));
        p.Add(Column("experiment", records, r => LedgerText.Clean(r.Experiment), NpgsqlDbType.Text));
        p.Add(Column("arm", records, r => LedgerText.Clean(r.Arm), NpgsqlDbType.Text));
        p.Add(Column("task", records, r => LedgerText.Clean(r.Task), NpgsqlDbType.Text));
        p.Add(Column("retries", records, r => r.Retries, NpgsqlDbType.Integer));
        p.Add(Column("fallbacks", records, r => r.Fallbacks, NpgsqlDbType.Integer));
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState[..2] is "22" or "23" or "54")
        {
            // Data exception, integrity constraint, program limit: the same rows would fail again, forever.
            throw new LlmCallRecordRejectedException($"PostgreSQL refused the batch ({ex.SqlState}: {ex.MessageText}).", ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _schema.Dispose();
    }

    private static NpgsqlParameter Column<T>(string name, IReadOnlyList<LlmCallRecord> records, Func<LlmCallRecord, T> value, NpgsqlDbType type)
    {
        var values = new T[records.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = value(records[i]);
        }

        return new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values };
    }
}
