namespace LlmMiddleware;

/// <summary>How an experiment's arms fared, task by task, and which fits each task best (<c>LlmExperiments.ReportAsync</c>).</summary>
/// <param name="Experiment">The experiment.</param>
/// <param name="Tasks">One entry per task its calls were labelled with (<see langword="null"/> task: unlabelled).</param>
/// <param name="JudgeCost">What the judge's own calls cost, in USD (pairwise replays included).</param>
public sealed record LlmExperimentReport(string Experiment, IReadOnlyList<LlmExperimentTaskReport> Tasks, decimal JudgeCost);

/// <summary>One task of an experiment: its arms, and the recommended one.</summary>
/// <param name="Task">The task label.</param>
/// <param name="Arms">The arms that served calls of the task.</param>
/// <param name="Recommended">The cheapest arm whose judge score is not significantly worse than the best's (a one-sided
/// Welch's t-test at 5 %), or <see langword="null"/> until at least two arms have two verdicts each.</param>
/// <param name="Reason">Why, in words.</param>
public sealed record LlmExperimentTaskReport(string? Task, IReadOnlyList<LlmExperimentArmReport> Arms, string? Recommended, string Reason);

/// <summary>One arm's calls for one task: volume, errors, cost, latency and the judge's verdicts.</summary>
/// <param name="Arm">The arm.</param>
/// <param name="Calls">Calls it served (including failed ones).</param>
/// <param name="ErrorRate">The fraction of its calls that failed.</param>
/// <param name="CostPerCall">Mean cost of a call, USD.</param>
/// <param name="CostPer1000Calls">The same, per 1,000 calls.</param>
/// <param name="LatencyP50Ms">Median duration, ms.</param>
/// <param name="LatencyP95Ms">95th percentile duration, ms.</param>
/// <param name="TimeToFirstTokenP50Ms">Median time to the first token, ms (streamed calls), or <see langword="null"/>.</param>
/// <param name="Judged">How many of its answers the judge scored.</param>
/// <param name="MeanScore">The mean verdict (absolute: 1–10; pairwise: the win rate, ties counting half), or <see langword="null"/>.</param>
/// <param name="ScoreLow">The lower end of the mean's 95 % confidence interval (Student's t), with two verdicts or more.</param>
/// <param name="ScoreHigh">The upper end of that interval.</param>
public sealed record LlmExperimentArmReport(
    string Arm, long Calls, double ErrorRate, decimal CostPerCall, decimal CostPer1000Calls, double LatencyP50Ms, double LatencyP95Ms,
    double? TimeToFirstTokenP50Ms, int Judged, double? MeanScore, double? ScoreLow, double? ScoreHigh);
