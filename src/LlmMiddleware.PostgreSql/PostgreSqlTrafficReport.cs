using LlmMiddleware;
using LlmMiddleware.Metering;

namespace LlmMiddleware.PostgreSql;

/// <summary>Traffic per provider model and deployment from the ledger's daily rollups (<see cref="LedgerRollups"/>) —
/// every instance's calls, counted as <see cref="LlmTrafficRow"/> defines them, percentiles from the same buckets as
/// one instance's in-memory report.</summary>
internal sealed class PostgreSqlTrafficReport(PostgreSqlCallLedger ledger) : ILlmTrafficReport
{
    public async ValueTask<IReadOnlyList<LlmTrafficRow>> QueryAsync(DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        var (dataSource, schema, table) = ledger.Store;
        await schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new($"""
            SELECT provider, model, deployment, sum(calls)::bigint, sum(errors)::bigint, sum(cache_lookups)::bigint, sum(cache_hits)::bigint, sum(saved_cost),
                sum(retries)::bigint, sum(fallbacks)::bigint, sum(race_wins)::bigint, sum(race_losses)::bigint
            FROM {LedgerRollups.Daily(table)} WHERE provider <> '' AND {LedgerRollups.InDays} GROUP BY 1, 2, 3
            """));
        batch.BatchCommands.Add(new($"""
            SELECT provider, model, deployment, kind, bucket, sum(calls)::bigint
            FROM {LedgerRollups.Latency(table)} WHERE {LedgerRollups.InDays} GROUP BY 1, 2, 3, 4, 5
            """));
        foreach (Npgsql.NpgsqlBatchCommand command in batch.BatchCommands)
        {
            LedgerRollups.AddDays(command.Parameters, from, to);
        }

        // The counts first (percentiles filled in below, from the second result's buckets).
        var rows = new List<LlmTrafficRow>();
        var latencies = new Dictionary<(string, string, string, char), LatencyHistogram>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new LlmTrafficRow(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), null, null, null, null,
                reader.GetInt64(5), reader.GetInt64(6), reader.GetDecimal(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11)));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var key = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetChar(3));
            var histogram = latencies.TryGetValue(key, out var known) ? known : latencies[key] = new LatencyHistogram();
            histogram.Add(reader.GetInt16(4), reader.GetInt64(5));
        }

        // The rollups store no nulls: '' stands for no model or no deployment.
        return LlmTrafficAggregator.Busiest(rows.Select(r =>
        {
            var (durations, firstTokens) = (latencies.GetValueOrDefault((r.Provider, r.Model, r.Deployment!, 'd')), latencies.GetValueOrDefault((r.Provider, r.Model, r.Deployment!, 't')));
            return r with
            {
                Model = r.Model.Length == 0 ? "(none)" : r.Model,
                Deployment = r.Deployment!.Length == 0 ? null : r.Deployment,
                LatencyP50Ms = durations?.Percentile(0.5),
                LatencyP95Ms = durations?.Percentile(0.95),
                TimeToFirstTokenP50Ms = firstTokens?.Percentile(0.5),
                TimeToFirstTokenP95Ms = firstTokens?.Percentile(0.95),
            };
        }));
    }
}
