using LlmMiddleware.FunctionalTests.Infrastructure;
using LlmMiddleware.Metering;
using LlmMiddleware.PostgreSql;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests;

/// <summary>The traffic per deployment and the spend by model and day the dashboard shows: the PostgreSQL ledger's
/// (every instance's, from its daily rollups) and one instance's in memory count the same records the same way, over
/// any range of days — also when the rollups are first built from a ledger that predates them.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class TrafficReportTests(PostgreSqlServer postgres)
{
    private static readonly (DateOnly? From, DateOnly? To)[] Ranges = [(null, null), (new DateOnly(2026, 11, 10), new DateOnly(2026, 11, 20)), (new DateOnly(2026, 11, 30), null)];

    [Fact]
    public async Task TheLedgerAndTheInMemoryReportsAgree()
    {
        var records = TrafficRecords.Make(4000, seed: 7, new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        var (traffic, spend) = (new LlmTrafficAggregator(), new LlmSpendAggregator());
        records.ForEach(traffic.Add);
        records.ForEach(spend.Add);
        await using var upstream = await FakeUpstream.StartAsync();
        var database = await postgres.CreateDatabaseAsync();
        await using (var gateway = await StartAsync(upstream, database))
        {
            var ledger = gateway.Services.GetRequiredService<PostgreSqlCallLedger>();
            await ledger.WriteAsync(records[..1000], default);
            await ledger.WriteAsync(records, default); // a retried batch, and more: the rollups count each record once
            await AssertAgreeAsync(gateway, traffic, spend);
        }

        // A ledger from before the rollups: they are built from its rows when an instance first runs the schema.
        await PostgreSqlServer.ScalarAsync<int>(database, "DROP TABLE llm_call_records_daily, llm_call_records_latency; DROP TRIGGER llm_call_records_rollup ON llm_call_records; SELECT 1");
        await using (var gateway = await StartAsync(upstream, database))
        {
            await AssertAgreeAsync(gateway, traffic, spend);
        }

        // The counts themselves, from the records, for one deployment.
        var pool = records.Where(r => r.Deployment == "openai/gpt-4o-mini").ToList();
        var row = (await traffic.QueryAsync(null, null, default)).Single(r => r.Deployment == "openai/gpt-4o-mini");
        Assert.Equal(pool.Count(r => r.Role == LlmCallRole.RaceLoser), row.RaceLosses);
        Assert.Equal(pool.Count(r => r.Role != LlmCallRole.RaceLoser && r.Cache is LlmCacheOutcome.HitExact or LlmCacheOutcome.HitSemantic), row.CacheHits);
        Assert.Equal(pool.Where(r => r.Role != LlmCallRole.RaceLoser).Sum(r => r.Fallbacks), row.Fallbacks);
    }

    private static async Task AssertAgreeAsync(GatewayHost gateway, LlmTrafficAggregator traffic, LlmSpendAggregator spend)
    {
        var (ledgerTraffic, ledgerSpend) = (gateway.Services.GetRequiredService<ILlmTrafficReport>(), gateway.Services.GetRequiredService<ILlmSpendReport>());
        foreach (var (from, to) in Ranges)
        {
            // The same buckets in SQL and in memory: equal to the last digit, percentiles included.
            Assert.Equal(await traffic.QueryAsync(from, to, default), await ledgerTraffic.QueryAsync(from, to, default));
            foreach (var grouping in new[] { LlmSpendGrouping.Model, LlmSpendGrouping.Day, LlmSpendGrouping.Team })
            {
                Assert.Equal(spend.Query(grouping, from, to), await ledgerSpend.QueryAsync(grouping, from, to, default));
            }
        }
    }

    private static Task<GatewayHost> StartAsync(FakeUpstream upstream, string database) =>
        GatewayHost.StartAsync(upstream, b => b.Services.AddLlmGateway().AddPostgreSqlLedger(database));
}
