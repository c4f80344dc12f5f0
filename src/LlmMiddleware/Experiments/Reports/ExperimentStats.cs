using LlmMiddleware.Metering;

namespace LlmMiddleware.Experiments.Reports;

/// <summary>An experiment's calls of one task served by one arm.</summary>
internal readonly record struct ArmTally(string? Task, string Arm, long Calls, long Errors, decimal Cost, double LatencyP50Ms, double LatencyP95Ms, double? TimeToFirstTokenP50Ms);

/// <summary>Where an experiment's report gets its call counts: this instance's (<see cref="ExperimentStats"/>) or the
/// PostgreSQL ledger's, every instance's.</summary>
internal interface IExperimentTallies
{
    /// <summary>The experiment's tallies by task and arm, and what the judge's calls cost.</summary>
    ValueTask<(IReadOnlyList<ArmTally> Arms, decimal JudgeCost)> OfAsync(string experiment, CancellationToken cancellationToken);
}

/// <summary>
/// This instance's calls of each experiment, by task and arm, as they complete: counts, errors, cost, and their
/// durations and times to first token in <see cref="LatencyHistogram"/>s (for percentiles); and what the judge's calls cost.
/// </summary>
internal sealed class ExperimentStats : IExperimentTallies
{
    private readonly Dictionary<(string Experiment, string? Task, string Arm), Tally> _tallies = [];
    private readonly Dictionary<string, decimal> _judgeCost = [];

    /// <summary>Counts a finished call of <paramref name="context"/>'s experiment (an arm's, or the judge's).</summary>
    public void Add(LlmRequestContext context)
    {
        if (context is not { Experiment: { } assignment, Record: { } record })
        {
            return;
        }

        lock (_tallies)
        {
            if (context.IsJudgeCall)
            {
                _judgeCost[assignment.Experiment] = _judgeCost.GetValueOrDefault(assignment.Experiment) + (record.Cost ?? 0m);
                return;
            }

            var key = (assignment.Experiment, context.Task, assignment.Arm);
            if (!_tallies.TryGetValue(key, out var tally))
            {
                _tallies[key] = tally = new Tally();
            }

            tally.Calls++;
            tally.Errors += record.Status == LlmCallStatus.Succeeded ? 0 : 1;
            tally.Cost += record.Cost ?? 0m;
            if (record.Duration is { } duration)
            {
                tally.Durations.Add(duration.TotalMilliseconds);
            }

            if (record.TimeToFirstToken is { } firstToken)
            {
                tally.FirstTokens.Add(firstToken.TotalMilliseconds);
            }
        }
    }

    public ValueTask<(IReadOnlyList<ArmTally> Arms, decimal JudgeCost)> OfAsync(string experiment, CancellationToken cancellationToken)
    {
        lock (_tallies)
        {
            return new(([.. _tallies.Where(t => t.Key.Experiment == experiment).Select(t => new ArmTally(
                t.Key.Task, t.Key.Arm, t.Value.Calls, t.Value.Errors, t.Value.Cost, t.Value.Durations.Percentile(0.5) ?? 0, t.Value.Durations.Percentile(0.95) ?? 0, t.Value.FirstTokens.Percentile(0.5)))],
                _judgeCost.GetValueOrDefault(experiment)));
        }
    }

    private sealed class Tally
    {
        public long Calls;
        public long Errors;
        public decimal Cost;
        public readonly LatencyHistogram Durations = new();
        public readonly LatencyHistogram FirstTokens = new();
    }
}
