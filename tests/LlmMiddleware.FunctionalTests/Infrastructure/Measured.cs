using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>Waits on what a gateway's own metrics report: a signal, not a guess at how long something takes.</summary>
public static class Measured
{
    /// <summary>Returns once the values <paramref name="collector"/> has recorded (those <paramref name="counts"/>
    /// accepts) add up to <paramref name="total"/>; the minute guards a hang.</summary>
    public static async Task SumAsync(this MetricCollector<long> collector, long total, Func<CollectedMeasurement<long>, bool>? counts = null)
    {
        while (true)
        {
            var seen = collector.GetMeasurementSnapshot(); // taken before checking, so one recorded in between is not missed
            if (seen.Where(counts ?? (_ => true)).Sum(m => m.Value) >= total)
            {
                return;
            }

            await collector.WaitForMeasurementsAsync(seen.Count + 1, TimeSpan.FromMinutes(1));
        }
    }

    /// <summary>Whether a measurement carries <paramref name="tag"/> = <paramref name="value"/>.</summary>
    public static Func<CollectedMeasurement<long>, bool> Tagged(string tag, string value) => m => (string?)m.Tags[tag] == value;
}
