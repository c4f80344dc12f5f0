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

        var counts = new List<(string Provider, string Model, string Deployment, long[] Counts, decimal Saved)>();
        var latencies = new Dictionary<(string, string, string, char), LatencyHistogram>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2),
                [reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11)], reader.GetDecimal(7)));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var key = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetChar(3));
            var histogram = latencies.TryGetValue(key, out var known) ? known : latencies[key] = new LatencyHistogram();
            histogram.Add(reader.GetInt16(4), reader.GetInt64(5));
        }

        return LlmTrafficAggregator.Busiest(counts.Select(r =>
        {
            var (durations, firstTokens) = (latencies.GetValueOrDefault((r.Provider, r.Model, r.Deployment, 'd')), latencies.GetValueOrDefault((r.Provider, r.Model, r.Deployment, 't')));
            var c = r.Counts;
            return new LlmTrafficRow(
                r.Provider, r.Model.Length == 0 ? "(none)" : r.Model, r.Deployment.Length == 0 ? null : r.Deployment, c[0], c[1],
                durations?.Percentile(0.5), durations?.Percentile(0.95), firstTokens?.Percentile(0.5), firstTokens?.Percentile(0.95), c[2], c[3], r.Saved, c[4], c[5], c[6], c[7]);
        }));
    }
}
