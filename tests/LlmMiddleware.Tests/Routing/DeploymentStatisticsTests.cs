using Xunit;

namespace LlmMiddleware.Tests.Routing;

/// <summary>A deployment's live statistics under concurrent callers: whole values, no lost samples.</summary>
public sealed class DeploymentStatisticsTests
{
    /// <summary>A reader racing a writer sees one of the values written, never half of each (a cooldown's end is read on
    /// every routing decision while failures write it).</summary>
    [Fact]
    public async Task CoolingUntilIsNeverReadTorn()
    {
        var deployment = DeploymentSelectorTests.Deployment("a");
        DateTimeOffset? early = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        DateTimeOffset? late = new DateTimeOffset(2099, 12, 31, 23, 59, 59, TimeSpan.FromHours(-8));
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                deployment.CoolingUntil = (i % 3) switch { 0 => early, 1 => late, _ => null };
            }
        });

        try
        {
            for (var i = 0; i < 2_000_000; i++)
            {
                var seen = deployment.CoolingUntil;
                Assert.True(seen is null || seen == early || seen == late, $"Torn read: {seen:O}");
            }
        }
        finally
        {
            stop.Cancel();
            await writer;
        }
    }

    /// <summary>The sample count wraps after 2^31 calls (months at high load): the percentile window keeps working.</summary>
    [Fact]
    public void ThePercentileWindowSurvivesAWrappedSampleCount()
    {
        var deployment = DeploymentSelectorTests.Deployment("a");
        typeof(LlmDeployment).GetField("_samples", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.SetValue(deployment, int.MaxValue - 2);

        for (var i = 0; i < 10; i++)
        {
            deployment.Record(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(100), deployment.TimeToFirstTokenP95);
        Assert.Equal(100, deployment.AverageTimeToFirstToken!.Value.TotalMilliseconds, precision: 6);
    }
}
