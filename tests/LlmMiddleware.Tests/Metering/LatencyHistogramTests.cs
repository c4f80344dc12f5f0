using LlmMiddleware.Metering;
using Xunit;

namespace LlmMiddleware.Tests.Metering;

/// <summary>The bucketed latencies behind the in-memory traffic report: percentiles within 4.5 % of the exact ones.</summary>
public sealed class LatencyHistogramTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void PercentilesAreWithinHalfABucketOfTheExactOnes(int seed)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, 5000).Select(_ => Math.Exp(random.NextDouble() * 10)).ToArray(); // 1 ms to 6 min
        var histogram = new LatencyHistogram();
        var halves = (new LatencyHistogram(), new LatencyHistogram());
        for (var i = 0; i < values.Length; i++)
        {
            histogram.Add(values[i]);
            (i % 2 == 0 ? halves.Item1 : halves.Item2).Add(values[i]);
        }

        halves.Item1.Add(halves.Item2);
        var sorted = values.Order().ToArray();
        foreach (var rank in new[] { 0.01, 0.5, 0.9, 0.95, 0.99, 1 })
        {
            var exact = sorted[(int)Math.Ceiling(rank * sorted.Length) - 1];
            Assert.InRange(histogram.Percentile(rank)!.Value / exact, 0.955, 1.045);
            Assert.Equal(histogram.Percentile(rank), halves.Item1.Percentile(rank)); // merging loses nothing
        }
    }

    [Fact]
    public void EmptySubMillisecondAndHugeValuesAreHandled()
    {
        var histogram = new LatencyHistogram();
        Assert.Null(histogram.Percentile(0.5));
        histogram.Add(0.2);
        Assert.Equal(0.5, histogram.Percentile(0.5));
        histogram.Add(1e12);
        histogram.Add(double.PositiveInfinity);
        Assert.Equal(3, histogram.Count);
        Assert.True(histogram.Percentile(1) > 1_000_000);
    }
}
