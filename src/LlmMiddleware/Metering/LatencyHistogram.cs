namespace LlmMiddleware.Metering;

/// <summary>
/// Milliseconds counted in buckets that grow by 2^(1/8) (about 9 %), from 1 ms to 2^20 ms: constant memory however many
/// calls, mergeable across days, and percentiles within half a bucket (about 4.5 %) of the exact ones. Not thread-safe.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int PerDoubling = 8;
    private const int Buckets = 20 * PerDoubling + 2; // [0, 1) ms, then the doublings, then the overflow
    private readonly long[] _counts = new long[Buckets];

    public long Count { get; private set; }

    public void Add(double milliseconds)
    {
        _counts[!(milliseconds >= 1) ? 0 : 1 + (int)Math.Min(Math.Log2(milliseconds) * PerDoubling, Buckets - 2)]++;
        Count++;
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < Buckets; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
    }

    /// <summary>The value at <paramref name="rank"/> (0–1): its bucket's geometric middle; <see langword="null"/> when empty.</summary>
    public double? Percentile(double rank)
    {
        if (Count == 0)
        {
            return null;
        }

        var target = Math.Max(1, (long)Math.Ceiling(rank * Count));
        var seen = 0L;
        var i = 0;
        while ((seen += _counts[i]) < target)
        {
            i++;
        }

        return i == 0 ? 0.5 : Math.Pow(2, (i - 0.5) / PerDoubling);
    }
}
