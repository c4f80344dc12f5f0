using LlmMiddleware.Experiments.Reports;

namespace LlmMiddleware.PostgreSql;

/// <summary>An experiment's calls by task and arm from the ledger table — every instance's, with exact percentiles —
/// for its report. Records reach the table in batches, so the last <c>FlushInterval</c>'s calls may be missing.</summary>
internal sealed class PostgreSqlExperimentTallies(PostgreSqlCallLedger ledger) : IExperimentTallies
{
    public async ValueTask<(IReadOnlyList<ArmTally> Arms, decimal JudgeCost)> OfAsync(string experiment, CancellationToken cancellationToken)
    {
        var (dataSource, schema, table) = ledger.Store;
        await schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var command = dataSource.CreateCommand($"""
            SELECT task, arm, role = 'Judge', count(*), count(*) FILTER (WHERE status <> 'Succeeded'), coalesce(sum(cost), 0),
                percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms), percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms),
                percentile_disc(0.5) WITHIN GROUP (ORDER BY time_to_first_token_ms)
            FROM {table}
            WHERE experiment = @experiment AND arm IS NOT NULL AND role <> 'RaceLoser'
            GROUP BY 1, 2, 3
            """);
        command.Parameters.AddWithValue("experiment", experiment);
        var arms = new List<ArmTally>();
        var judgeCost = 0m;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.GetBoolean(2))
            {
                judgeCost += reader.GetDecimal(5);
                continue;
            }

            arms.Add(new ArmTally(
                reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1), reader.GetInt64(3), reader.GetInt64(4), reader.GetDecimal(5),
                reader.IsDBNull(6) ? 0 : reader.GetDouble(6), reader.IsDBNull(7) ? 0 : reader.GetDouble(7), reader.IsDBNull(8) ? null : reader.GetDouble(8)));
        }

        return (arms, judgeCost);
    }
}
