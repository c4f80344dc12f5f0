using LlmMiddleware.FunctionalTests.Infrastructure;
using LlmMiddleware.Metering;
using LlmMiddleware.PostgreSql;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests;

/// <summary>The traffic per deployment the dashboard shows: the PostgreSQL ledger's (every instance's) and one
/// instance's in memory count the same records the same way, over any range of days.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class TrafficReportTests(PostgreSqlServer postgres)
{
    [Fact]
    public async Task TheLedgerAndTheInMemoryReportAgree()
    {
        var end = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var records = TrafficRecords.Make(4000, seed: 7, end);
        var memory = new LlmTrafficAggregator();
        records.ForEach(memory.Add);
        await using var upstream = await FakeUpstream.StartAsync();
        var database = await postgres.CreateDatabaseAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream, b => b.Services.AddLlmGateway().AddPostgreSqlLedger(database));
        await gateway.Services.GetRequiredService<PostgreSqlCallLedger>().WriteAsync(records, default);
        var ledger = gateway.Services.GetRequiredService<ILlmTrafficReport>();

        foreach (var (from, to) in new (DateOnly?, DateOnly?)[] { (null, null), (new DateOnly(2026, 11, 10), new DateOnly(2026, 11, 20)), (new DateOnly(2026, 11, 30), null) })
        {
            var expected = await memory.QueryAsync(from, to, default);
            var actual = await ledger.QueryAsync(from, to, default);
            Assert.Equal(expected.Select(Counts), actual.Select(Counts));
            foreach (var (m, l) in expected.Zip(actual))
            {
                // Memory keeps histogram buckets 2^(1/8) wide: within half of one of the ledger's exact percentiles.
                foreach (var (inMemory, exact) in new[] { (m.LatencyP50Ms, l.LatencyP50Ms), (m.LatencyP95Ms, l.LatencyP95Ms), (m.TimeToFirstTokenP50Ms, l.TimeToFirstTokenP50Ms), (m.TimeToFirstTokenP95Ms, l.TimeToFirstTokenP95Ms) })
                {
                    Assert.Equal(exact is null, inMemory is null);
                    Assert.True(exact is null || Math.Abs(inMemory!.Value / exact.Value - 1) < 0.05, $"{m.Deployment ?? m.Model}: {inMemory} in memory, {exact} in the ledger");
                }
            }
        }

        // The counts themselves, from the records, for one deployment.
        var pool = records.Where(r => r.Deployment == "openai/gpt-4o-mini").ToList();
        var row = (await ledger.QueryAsync(null, null, default)).Single(r => r.Deployment == "openai/gpt-4o-mini");
        Assert.Equal(pool.Count(r => r.Role == LlmCallRole.RaceLoser), row.RaceLosses);
        Assert.Equal(pool.Count(r => r.Role != LlmCallRole.RaceLoser && r.Cache is LlmCacheOutcome.HitExact or LlmCacheOutcome.HitSemantic), row.CacheHits);
        Assert.Equal(pool.Where(r => r.Role != LlmCallRole.RaceLoser).Sum(r => r.Fallbacks), row.Fallbacks);
    }

    private static object Counts(LlmTrafficRow r) => (r.Provider, r.Model, r.Deployment, r.Calls, r.Errors, r.CacheLookups, r.CacheHits, r.SavedCost, r.Retries, r.Fallbacks, r.RaceWins, r.RaceLosses);
}
