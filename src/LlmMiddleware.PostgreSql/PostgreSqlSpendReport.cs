using LlmMiddleware;

namespace LlmMiddleware.PostgreSql;

/// <summary>Spend from the ledger table — every instance's records, summed in the database: reports, and the history
/// budgets start their accounts from.</summary>
internal sealed class PostgreSqlSpendReport(PostgreSqlCallLedger ledger) : ILlmSpendReport, ILlmSpendHistory
{
    public async ValueTask<decimal> SpentAsync(LlmBudgetScope scope, string subject, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var (dataSource, schema, table) = ledger.Store;
        await schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        var (column, value) = scope switch
        {
            LlmBudgetScope.Key => ("caller_key", subject),
            LlmBudgetScope.Team => ("team", subject),
            LlmBudgetScope.User => ("user_id", subject),
            LlmBudgetScope.App => ("app", subject),
            _ => ("tags ->> @tag", subject[(subject.IndexOf('=', StringComparison.Ordinal) + 1)..]),
        };
        await using var command = dataSource.CreateCommand($"SELECT coalesce(sum(cost), 0) FROM {table} WHERE {column} = @value AND ts >= @since");
        command.Parameters.AddWithValue("value", value);
        command.Parameters.AddWithValue("since", since == DateTimeOffset.MinValue ? DateTimeOffset.UnixEpoch : since.ToUniversalTime());
        if (scope == LlmBudgetScope.Tag)
        {
            command.Parameters.AddWithValue("tag", subject[..Math.Max(subject.IndexOf('=', StringComparison.Ordinal), 0)]);
        }

        return (decimal)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async ValueTask<IReadOnlyList<LlmSpendRow>> QueryAsync(LlmSpendGrouping grouping, DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        var (dataSource, schema, table) = ledger.Store;
        await schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        // By model or day from the daily rollups (a few rows a day); by caller from the ledger itself.
        var rollup = grouping is LlmSpendGrouping.Model or LlmSpendGrouping.Day;
        var group = grouping switch
        {
            LlmSpendGrouping.Model => "CASE WHEN provider = '' THEN '(none)' ELSE provider || '/' || CASE WHEN model = '' THEN '(none)' ELSE model END END",
            LlmSpendGrouping.Key => "coalesce(caller_key, '(none)')",
            LlmSpendGrouping.Team => "coalesce(team, '(none)')",
            LlmSpendGrouping.User => "coalesce(user_id, '(none)')",
            LlmSpendGrouping.App => "coalesce(app, '(none)')",
            _ => "to_char(day, 'YYYY-MM-DD')",
        };
        await using var command = dataSource.CreateCommand(rollup
            ? $"""
                SELECT {group} AS g, sum(records)::bigint, sum(input_tokens)::bigint, sum(cached_input_tokens)::bigint, sum(output_tokens)::bigint, sum(cost), sum(unpriced)::bigint
                FROM {LedgerRollups.Daily(table)} WHERE {LedgerRollups.InDays} GROUP BY g ORDER BY 6 DESC, g
                """
            : $"""
                SELECT {group} AS g, count(*), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), coalesce(sum(cost), 0), count(*) FILTER (WHERE unpriced)
                FROM {table} WHERE {LedgerRollups.TimestampInDays} GROUP BY g ORDER BY 6 DESC, g
                """);
        LedgerRollups.AddDays(command.Parameters, from, to);

        var rows = new List<LlmSpendRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new LlmSpendRow(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetDecimal(5), reader.GetInt64(6)));
        }

        return rows;
    }
}
