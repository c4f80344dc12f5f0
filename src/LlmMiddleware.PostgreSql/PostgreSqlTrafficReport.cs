using LlmMiddleware;

namespace LlmMiddleware.PostgreSql;

/// <summary>Traffic per provider model and deployment from the ledger table — every instance's records, counted in the
/// database as <see cref="LlmTrafficRow"/> defines them, with exact percentiles.</summary>
internal sealed class PostgreSqlTrafficReport(PostgreSqlCallLedger ledger) : ILlmTrafficReport
{
    private const string Answered = "role <> 'RaceLoser' AND status = 'Succeeded' AND cache NOT IN ('HitExact', 'HitSemantic')";

    public async ValueTask<IReadOnlyList<LlmTrafficRow>> QueryAsync(DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        var (dataSource, schema, table) = ledger.Store;
        await schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var command = dataSource.CreateCommand($"""
            SELECT provider, coalesce(model, '(none)'), deployment,
                count(*) FILTER (WHERE role <> 'RaceLoser'),
                count(*) FILTER (WHERE role <> 'RaceLoser' AND status IN ('Failed', 'StreamBroken')),
                percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE {Answered}),
                percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE {Answered}),
                percentile_disc(0.5) WITHIN GROUP (ORDER BY time_to_first_token_ms) FILTER (WHERE {Answered} AND stream),
                percentile_disc(0.95) WITHIN GROUP (ORDER BY time_to_first_token_ms) FILTER (WHERE {Answered} AND stream),
                count(*) FILTER (WHERE role <> 'RaceLoser' AND cache IN ('Miss', 'HitExact', 'HitSemantic')),
                count(*) FILTER (WHERE role <> 'RaceLoser' AND cache IN ('HitExact', 'HitSemantic')),
                coalesce(sum(saved_cost) FILTER (WHERE role <> 'RaceLoser'), 0),
                coalesce(sum(retries) FILTER (WHERE role <> 'RaceLoser'), 0), coalesce(sum(fallbacks) FILTER (WHERE role <> 'RaceLoser'), 0),
                count(*) FILTER (WHERE role = 'RaceWinner'), count(*) FILTER (WHERE role = 'RaceLoser')
            FROM {table}
            WHERE provider IS NOT NULL AND {PostgreSqlSpendReport.InDays}
            GROUP BY 1, 2, 3 ORDER BY count(*) DESC, 1, 2, 3
            """);
        PostgreSqlSpendReport.AddDays(command, from, to);
        var rows = new List<LlmTrafficRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            double? Ms(int i) => reader.IsDBNull(i) ? null : Math.Round(reader.GetDouble(i), 1);
            rows.Add(new LlmTrafficRow(
                reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), Ms(5), Ms(6), Ms(7), Ms(8),
                reader.GetInt64(9), reader.GetInt64(10), reader.GetDecimal(11), reader.GetInt64(12), reader.GetInt64(13), reader.GetInt64(14), reader.GetInt64(15)));
        }

        return rows;
    }
}
