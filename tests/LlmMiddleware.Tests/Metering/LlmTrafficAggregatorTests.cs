using LlmMiddleware.Metering;
using Xunit;

namespace LlmMiddleware.Tests.Metering;

/// <summary>The in-memory traffic report stays bounded: made-up model names fold into one group, old days are forgotten.</summary>
public sealed class LlmTrafficAggregatorTests
{
    private static readonly DateTimeOffset Today = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ModelNamesPastTheBoundCountUnderOther()
    {
        var traffic = new LlmTrafficAggregator();
        for (var i = 0; i < LlmTrafficAggregator.MaxBuckets + 500; i++)
        {
            traffic.Add(new LlmCallRecord { Timestamp = Today, Provider = "openai", Model = "made-up-" + i, Duration = TimeSpan.FromMilliseconds(100) });
        }

        var rows = (await traffic.QueryAsync(null, null, default));
        Assert.Equal(LlmTrafficAggregator.MaxBuckets + 1, rows.Count);
        Assert.Equal(500, rows.Single(r => r.Provider == LlmSpendAggregator.Other).Calls);
    }

    [Fact]
    public async Task DaysOutsideTheKeptWindowAreForgotten()
    {
        var traffic = new LlmTrafficAggregator();
        var old = Today.AddDays(-LlmTrafficAggregator.DaysKept);
        traffic.Add(new LlmCallRecord { Timestamp = old, Provider = "openai", Model = "gpt-4o-mini" });
        traffic.Add(new LlmCallRecord { Timestamp = old.AddDays(1), Provider = "openai", Model = "gpt-4o-mini" });
        Assert.Equal(2, (await traffic.QueryAsync(null, null, default)).Single().Calls);

        traffic.Add(new LlmCallRecord { Timestamp = Today, Provider = "openai", Model = "gpt-4o-mini" });

        Assert.Equal(2, (await traffic.QueryAsync(null, null, default)).Single().Calls); // the oldest day went, the next stayed
        Assert.Equal(1, (await traffic.QueryAsync(DateOnly.FromDateTime(Today.UtcDateTime), null, default)).Single().Calls);
    }
}
