namespace LlmMiddleware.Experiments.Reports;

/// <summary>
/// Builds an experiment's report from the call tallies (<see cref="IExperimentTallies"/>: this instance's, or the
/// ledger's) and the judge's
/// verdicts (<see cref="ILlmJudgementStore"/>): per task and arm, volume, errors, cost, latency and scores, and the
/// model–task fit — the cheapest arm whose score is not significantly worse than the best's.
/// </summary>
internal sealed class ExperimentReporter(IExperimentTallies tallies, ILlmJudgementStore judgements)
{
    public async ValueTask<LlmExperimentReport> ReportAsync(string experiment, CancellationToken cancellationToken)
    {
        var (arms, judgeCost) = await tallies.OfAsync(experiment, cancellationToken).ConfigureAwait(false);
        var verdicts = new Dictionary<(string? Task, string Arm), List<double>>();
        await foreach (var verdict in judgements.ListAsync(experiment, cancellationToken).ConfigureAwait(false))
        {
            if (!verdicts.TryGetValue((verdict.Task, verdict.Arm), out var scores))
            {
                verdicts[(verdict.Task, verdict.Arm)] = scores = [];
            }

            scores.Add(verdict.Score);
        }

        var tasks = arms.Select(a => a.Task).Concat(verdicts.Keys.Select(k => k.Task)).Distinct().OrderBy(t => t, StringComparer.Ordinal);
        return new LlmExperimentReport(experiment, [.. tasks.Select(task => Task(task, arms.Where(a => a.Task == task), verdicts))], judgeCost);
    }

    private static LlmExperimentTaskReport Task(string? task, IEnumerable<ArmTally> arms, Dictionary<(string? Task, string Arm), List<double>> verdicts)
    {
        var reports = new List<LlmExperimentArmReport>();
        foreach (var arm in arms.OrderBy(a => a.Arm, StringComparer.Ordinal))
        {
            var scores = verdicts.GetValueOrDefault((task, arm.Arm)) ?? [];
            var interval = scores.Count >= 2 ? Scores.Interval(scores) : ((double Low, double High)?)null;
            var perCall = arm.Calls == 0 ? 0m : arm.Cost / arm.Calls;
            reports.Add(new LlmExperimentArmReport(
                arm.Arm, arm.Calls, arm.Calls == 0 ? 0 : (double)arm.Errors / arm.Calls, perCall, perCall * 1000, arm.LatencyP50Ms, arm.LatencyP95Ms,
                arm.TimeToFirstTokenP50Ms, scores.Count, scores.Count == 0 ? null : Scores.Mean(scores), interval?.Low, interval?.High));
        }

        var (recommended, reason) = Fit(task, reports, verdicts);
        return new LlmExperimentTaskReport(task, reports, recommended, reason);
    }

    /// <summary>The cheapest arm whose scores are not significantly below the best-scoring arm's.</summary>
    private static (string? Arm, string Reason) Fit(string? task, List<LlmExperimentArmReport> arms, Dictionary<(string? Task, string Arm), List<double>> verdicts)
    {
        var scored = arms.Where(a => a.Judged >= 2).ToList();
        if (scored.Count < 2)
        {
            return (null, "Not yet: the judge needs at least two verdicts on each of two arms.");
        }

        var best = scored.MaxBy(a => a.MeanScore)!;
        var fit = scored.Where(a => !Scores.SignificantlyBelow(verdicts[(task, a.Arm)], verdicts[(task, best.Arm)]))
            .OrderBy(a => a.CostPerCall).ThenByDescending(a => a.MeanScore).First();
        return (fit.Arm, fit == best
            ? $"'{fit.Arm}' scores best ({fit.MeanScore:0.##}) and no cheaper arm comes close enough."
            : $"'{fit.Arm}' costs {fit.CostPerCall:0.######} USD a call against {best.CostPerCall:0.######} for '{best.Arm}', the best ({best.MeanScore:0.##}), and its score ({fit.MeanScore:0.##}) is not significantly lower.");
    }
}
