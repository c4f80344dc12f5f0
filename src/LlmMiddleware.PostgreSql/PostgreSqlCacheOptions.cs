using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware.PostgreSql;

/// <summary>Settings of the PostgreSQL cache storage, bound to <c>LlmGateway:CacheStore</c>.</summary>
public sealed class PostgreSqlCacheOptions
{
    /// <summary>The Npgsql connection string.</summary>
    [Required]
    public string ConnectionString { get; set; } = "";

    /// <summary>The table of the distributed (exact) cache. Default <c>llm_cache_entries</c>.</summary>
    [Required]
    [RegularExpression(PostgreSqlIdentifiers.Pattern, ErrorMessage = "TableName must be a plain identifier, optionally schema-qualified.")]
    public string TableName { get; set; } = "llm_cache_entries";

    /// <summary>The table of the semantic cache. Default <c>llm_semantic_cache</c>.</summary>
    [Required]
    [RegularExpression(PostgreSqlIdentifiers.Pattern, ErrorMessage = "SemanticTableName must be a plain identifier, optionally schema-qualified.")]
    public string SemanticTableName { get; set; } = "llm_semantic_cache";

    /// <summary>The LISTEN/NOTIFY channel that announces new semantic entries to every instance. Default <c>llm_semantic_cache</c>.</summary>
    [Required]
    [RegularExpression("^[A-Za-z_][A-Za-z0-9_]*$", ErrorMessage = "Channel must be a plain identifier.")]
    public string Channel { get; set; } = "llm_semantic_cache";

    /// <summary>Create the tables if they do not exist, on first use. Default <see langword="true"/>.</summary>
    public bool CreateTables { get; set; } = true;

    /// <summary>How often expired rows are deleted (by whichever instance writes next). Default 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ExpiredRowsSweepInterval { get; set; } = TimeSpan.FromMinutes(5);
}

internal static class PostgreSqlIdentifiers
{
    public const string Pattern = @"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$";
}

/// <summary>Runs a schema script once per process, on first use, however many callers race to it.</summary>
internal sealed class PostgreSqlSchema(Npgsql.NpgsqlDataSource dataSource, string script, bool enabled) : IDisposable
{
    /// <summary>The advisory lock every instance's schema script holds while it runs.</summary>
    private const long SchemaLock = 0x4C4C4D5F5343484DL; // "LLM_SCHM"

    private readonly SemaphoreSlim _lock = new(1, 1);
    private volatile bool _ready = !enabled;

    public async ValueTask EnsureAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_ready)
            {
                // Instances starting together against a fresh database would race on CREATE ... IF NOT EXISTS (which
                // is not atomic in PostgreSQL: "duplicate key ... pg_type"); a transaction-scoped advisory lock makes
                // them take turns.
                await using var command = dataSource.CreateCommand($"BEGIN; SELECT pg_advisory_xact_lock({SchemaLock}); {script}; COMMIT;");
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                _ready = true;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();
}

/// <summary>Deletes a table's expired rows at most once per interval, on the next write after it has passed.</summary>
internal sealed class ExpiredRowsSweeper(Npgsql.NpgsqlDataSource dataSource, string table, TimeSpan interval)
{
    private readonly string _sweep = $"DELETE FROM {table} WHERE expires_at <= @now";
    private long _nextSweep;

    public async ValueTask SweepIfDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var due = Interlocked.Read(ref _nextSweep);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextSweep, (now + interval).UtcTicks, due) != due)
        {
            return;
        }

        await using var command = dataSource.CreateCommand(_sweep);
        command.Parameters.Add(new Npgsql.NpgsqlParameter("now", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = now.UtcDateTime });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
