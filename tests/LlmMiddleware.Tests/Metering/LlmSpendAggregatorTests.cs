using Xunit;

namespace LlmMiddleware.Tests.Metering;

/// <summary>The in-memory spend totals stay bounded however many keys callers present.</summary>
public sealed class LlmSpendAggregatorTests
{
    [Fact]
    public void KeysPastTheBoundCountUnderOther()
    {
        var spend = new LlmSpendAggregator();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < LlmSpendAggregator.MaxBuckets + 500; i++)
        {
            spend.Add(new LlmCallRecord { Timestamp = now, Provider = "openai", Model = "gpt-4o-mini", Caller = new LlmCallerIdentity { Key = "key_" + i }, Cost = 0.001m });
        }

        var byKey = spend.Query(LlmSpendGrouping.Key);
        Assert.Equal(LlmSpendAggregator.MaxBuckets + 1, byKey.Count);
        Assert.Equal(500, byKey.Single(r => r.Group == LlmSpendAggregator.Other).Calls);
        Assert.Equal((LlmSpendAggregator.MaxBuckets + 500) * 0.001m, byKey.Sum(r => r.Cost));
    }

    [Fact]
    public void ModelNamesPastTheBoundCountUnderOther()
    {
        // A provider echoes whatever model name a caller makes up; past the bound each must not be a new total.
        var spend = new LlmSpendAggregator();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < LlmSpendAggregator.MaxBuckets + 500; i++)
        {
            spend.Add(new LlmCallRecord { Timestamp = now, Provider = "openai", Model = "made-up-" + i, Caller = new LlmCallerIdentity { Key = "key_" + i }, Cost = 0.001m });
        }

        var byModel = spend.Query(LlmSpendGrouping.Model);
        Assert.Equal(LlmSpendAggregator.MaxBuckets + 1, byModel.Count);
        Assert.Equal(500, byModel.Single(r => r.Group.EndsWith(LlmSpendAggregator.Other, StringComparison.Ordinal)).Calls);
    }
}
