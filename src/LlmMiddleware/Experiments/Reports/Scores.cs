namespace LlmMiddleware.Experiments.Reports;

/// <summary>
/// The statistics of judge verdicts: a mean's 95 % confidence interval (Student's t) and whether one arm's scores are
/// significantly below another's (Welch's one-sided t-test at 5 %). Critical values from the t table, taking the
/// nearest degrees of freedom below (a wider interval, never a narrower one).
/// </summary>
internal static class Scores
{
    private static readonly (double Df, double TwoSided, double OneSided)[] Table =
    [
        (1, 12.706, 6.314), (2, 4.303, 2.920), (3, 3.182, 2.353), (4, 2.776, 2.132), (5, 2.571, 2.015), (6, 2.447, 1.943),
        (7, 2.365, 1.895), (8, 2.306, 1.860), (9, 2.262, 1.833), (10, 2.228, 1.812), (12, 2.179, 1.782), (15, 2.131, 1.753),
        (20, 2.086, 1.725), (30, 2.042, 1.697), (60, 2.000, 1.671), (120, 1.980, 1.658), (double.PositiveInfinity, 1.960, 1.645),
    ];

    public static double Mean(IReadOnlyList<double> scores) => scores.Average();

    public static double Variance(IReadOnlyList<double> scores)
    {
        var mean = Mean(scores);
        return scores.Sum(s => (s - mean) * (s - mean)) / (scores.Count - 1);
    }

    /// <summary>The mean's 95 % confidence interval; needs two scores or more.</summary>
    public static (double Low, double High) Interval(IReadOnlyList<double> scores)
    {
        var (mean, half) = (Mean(scores), Critical(scores.Count - 1).TwoSided * Math.Sqrt(Variance(scores) / scores.Count));
        return (mean - half, mean + half);
    }

    /// <summary>Whether <paramref name="scores"/> are significantly below <paramref name="best"/>'s (two scores or more each).</summary>
    public static bool SignificantlyBelow(IReadOnlyList<double> scores, IReadOnlyList<double> best)
    {
        var (a, b) = (Variance(scores) / scores.Count, Variance(best) / best.Count);
        var gap = Mean(best) - Mean(scores);
        if (a + b == 0)
        {
            return gap > 0; // no spread at all: any gap is real
        }

        var df = (a + b) * (a + b) / ((a * a / (scores.Count - 1)) + (b * b / (best.Count - 1)));
        return gap / Math.Sqrt(a + b) > Critical(df).OneSided;
    }

    private static (double TwoSided, double OneSided) Critical(double df)
    {
        var row = Table[0];
        foreach (var candidate in Table)
        {
            if (candidate.Df <= df)
            {
                row = candidate;
            }
        }

        return (row.TwoSided, row.OneSided);
    }
}
