using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace LlmMiddleware.PostgreSql;

/// <summary>
/// The experiment judge's verdicts in PostgreSQL, in the ledger's database, one row per judged record (its id is the
/// ledger row's): every instance's verdicts in one place, for reports. A verdict given twice (a retried judgement) is kept once.
/// </summary>
internal sealed class PostgreSqlJudgementStore : ILlmJudgementStore, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlSchema _schema;
    private readonly string _table;

    public PostgreSqlJudgementStore(PostgreSqlCallLedger ledger, IOptions<PostgreSqlLedgerOptions> options)
    {
        _dataSource = ledger.Store.DataSource;
        _table = options.Value.JudgementsTableName;
        _schema = new PostgreSqlSchema(_dataSource, $"""
            CREATE TABLE IF NOT EXISTS {_table} (
                record_id uuid PRIMARY KEY, experiment text NOT NULL, arm text NOT NULL, task text,
                score double precision NOT NULL, rationale text NOT NULL, judged_at timestamptz NOT NULL, opponent text);
            CREATE INDEX IF NOT EXISTS {_table.Replace('.', '_')}_experiment ON {_table} (experiment, judged_at);
            """, options.Value.CreateTable);
    }

    public async ValueTask AddAsync(LlmJudgement judgement, CancellationToken cancellationToken)
    {
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_table} (record_id, experiment, arm, task, score, rationale, judged_at, opponent)
            VALUES (@record_id, @experiment, @arm, @task, @score, @rationale, @judged_at, @opponent) ON CONFLICT (record_id) DO NOTHING
            """);
        var p = command.Parameters;
        p.AddWithValue("record_id", judgement.RecordId);
        p.AddWithValue("experiment", LedgerText.Clean(judgement.Experiment)!);
        p.AddWithValue("arm", LedgerText.Clean(judgement.Arm)!);
        p.Add(new NpgsqlParameter("task", NpgsqlDbType.Text) { Value = (object?)LedgerText.Clean(judgement.Task) ?? DBNull.Value });
        p.AddWithValue("score", judgement.Score);
        p.AddWithValue("rationale", LedgerText.Clean(judgement.Rationale)!);
        p.AddWithValue("judged_at", judgement.JudgedAt.ToUniversalTime());
        p.Add(new NpgsqlParameter("opponent", NpgsqlDbType.Text) { Value = (object?)LedgerText.Clean(judgement.Opponent) ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<LlmJudgement> ListAsync(string experiment, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand($"SELECT record_id, experiment, arm, task, score, rationale, judged_at, opponent FROM {_table} WHERE experiment = @experiment ORDER BY judged_at");
        command.Parameters.AddWithValue("experiment", experiment);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new LlmJudgement(
                reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetDouble(4), reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetString(7));
        }
    }

    public void Dispose() => _schema.Dispose();
}
