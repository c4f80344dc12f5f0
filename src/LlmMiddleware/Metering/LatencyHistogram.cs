using System.Globalization;

namespace LlmMiddleware.Metering;

/// <summary>
/// Milliseconds counted in buckets that grow by 2^(1/8) (about 9 %), from 1 ms to 2^20 ms: constant memory however many
/// calls, mergeable across days and instances, and percentiles within half a bucket (about 4.5 %) of the exact ones.
/// The PostgreSQL ledger's rollups bucket the same way, in SQL. Not thread-safe.
/// </summary>
internal sealed class LatencyHistogram
{
    /// <summary>8 / ln 2: buckets per natural-log unit. As a literal, so SQL multiplies by the very same double.</summary>
    public const string PerLnLiteral = "11.541560327111707";

    /// <summary>The overflow bucket's index; bucket 0 holds [0, 1) ms.</summary>
    public const int LastBucket = 20 * 8 + 1;

    private static readonly double PerLn = double.Parse(PerLnLiteral, CultureInfo.InvariantCulture);
    private readonly long[] _counts = new long[LastBucket + 1];

    public long Count { get; private set; }

    /// <summary>The bucket of <paramref name="milliseconds"/>: 1 + ⌊ln(ms) · 8 / ln 2⌋, 0 below 1 ms (and for NaN).</summary>
    public static int BucketOf(double milliseconds) =>
        !(milliseconds >= 1) ? 0 : 1 + (int)Math.Min(Math.Floor(Math.Log(milliseconds) * PerLn), LastBucket - 1);

    public void Add(double milliseconds) => Add(BucketOf(milliseconds), 1);

    /// <summary>Adds <paramref name="count"/> calls to bucket <paramref name="bucket"/> (as read from the ledger's rollup).</summary>
    public void Add(int bucket, long count)
    {
        _counts[Math.Clamp(bucket, 0, LastBucket)] += count;
        Count += count;
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i <= LastBucket; i++)
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

        return i == 0 ? 0.5 : Math.Pow(2, (i - 0.5) / 8);
    }
}
