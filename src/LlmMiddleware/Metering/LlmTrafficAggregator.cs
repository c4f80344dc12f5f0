using System.Collections.Concurrent;

namespace LlmMiddleware.Metering;

/// <summary>
/// This instance's traffic per day, provider, model and deployment over its last <see cref="DaysKept"/> days: the
/// default <see cref="ILlmTrafficReport"/> (the PostgreSQL ledger's replaces it with every instance's). Latency
/// percentiles come from <see cref="LatencyHistogram"/>s (2.6 KB a group); past <see cref="MaxBuckets"/> groups, new
/// models count under <c>(other)</c>, so callers naming ever-new models cannot grow the gateway's memory.
/// </summary>
internal sealed class LlmTrafficAggregator : ILlmTrafficReport
{
    public const int MaxBuckets = 10_000;
    public const int DaysKept = 92;
    private readonly ConcurrentDictionary<(DateOnly Day, string Provider, string Model, string? Deployment), Tally> _buckets = new();
    private DateOnly _newest;

    public void Add(LlmCallRecord record)
    {
        if (record.Provider is not { } provider)
        {
            return; // refused before any provider was chosen
        }

        var bucket = (Day: DateOnly.FromDateTime(record.Timestamp.UtcDateTime), Provider: provider, Model: record.Model ?? "(none)", Deployment: record.Deployment);
        if (!_buckets.TryGetValue(bucket, out var tally))
        {
            Forget(bucket.Day);
            tally = _buckets.GetOrAdd(_buckets.Count < MaxBuckets ? bucket : bucket with { Provider = LlmSpendAggregator.Other, Model = LlmSpendAggregator.Other, Deployment = null }, static _ => new Tally());
        }

        lock (tally)
        {
            tally.Add(record);
        }
    }

    public ValueTask<IReadOnlyList<LlmTrafficRow>> QueryAsync(DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<(string, string, string?), Tally>();
        foreach (var (bucket, tally) in _buckets)
        {
            if (bucket.Day >= (from ?? DateOnly.MinValue) && bucket.Day <= (to ?? DateOnly.MaxValue))
            {
                var row = rows.TryGetValue((bucket.Provider, bucket.Model, bucket.Deployment), out var existing) ? existing : rows[(bucket.Provider, bucket.Model, bucket.Deployment)] = new Tally();
                lock (tally)
                {
                    row.Add(tally);
                }
            }
        }

        return new(Busiest(rows.Select(r => r.Value.Row(r.Key.Item1, r.Key.Item2, r.Key.Item3))));
    }

    /// <summary>On a new day, drops the days that have fallen out of the last <see cref="DaysKept"/>.</summary>
    private void Forget(DateOnly day)
    {
        lock (_buckets)
        {
            if (day <= _newest)
            {
                return;
            }

            _newest = day;
        }

        foreach (var old in _buckets.Keys.Where(k => k.Day <= day.AddDays(-DaysKept)))
        {
            _buckets.TryRemove(old, out _);
        }
    }

    /// <summary>The rows in the report's order: busiest first, then by name.</summary>
    internal static IReadOnlyList<LlmTrafficRow> Busiest(IEnumerable<LlmTrafficRow> rows) =>
        [.. rows.OrderByDescending(r => r.Calls + r.RaceLosses).ThenBy(r => r.Provider, StringComparer.Ordinal).ThenBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => r.Deployment, StringComparer.Ordinal)];

    /// <summary>The counts behind a row; what counts where is <see cref="LlmTrafficRow"/>'s definition (the ledger's rollup trigger mirrors it).</summary>
    private sealed class Tally
    {
        private readonly LatencyHistogram _durations = new();
        private readonly LatencyHistogram _firstTokens = new();
        private long _calls, _errors, _lookups, _hits, _retries, _fallbacks, _wins, _losses;
        private decimal _saved;

        public void Add(LlmCallRecord record)
        {
            if (record.Role == LlmCallRole.RaceLoser)
            {
                _losses++;
                return;
            }

            var hit = record.Cache is LlmCacheOutcome.HitExact or LlmCacheOutcome.HitSemantic;
            _calls++;
            _errors += record.Status is LlmCallStatus.Failed or LlmCallStatus.StreamBroken ? 1 : 0;
            _lookups += hit || record.Cache == LlmCacheOutcome.Miss ? 1 : 0;
            _hits += hit ? 1 : 0;
            _saved += record.SavedCost ?? 0m;
            _retries += record.Retries;
            _fallbacks += record.Fallbacks;
            _wins += record.Role == LlmCallRole.RaceWinner ? 1 : 0;
            if (!hit && record.Status == LlmCallStatus.Succeeded)
            {
                if (record.Duration is { } duration)
                {
                    _durations.Add(duration.TotalMilliseconds);
                }

                if (record.Stream && record.TimeToFirstToken is { } firstToken)
                {
                    _firstTokens.Add(firstToken.TotalMilliseconds);
                }
            }
        }

        public void Add(Tally other)
        {
            (_calls, _errors, _lookups, _hits, _saved) = (_calls + other._calls, _errors + other._errors, _lookups + other._lookups, _hits + other._hits, _saved + other._saved);
            (_retries, _fallbacks, _wins, _losses) = (_retries + other._retries, _fallbacks + other._fallbacks, _wins + other._wins, _losses + other._losses);
            _durations.Add(other._durations);
            _firstTokens.Add(other._firstTokens);
        }

        public LlmTrafficRow Row(string provider, string model, string? deployment) => new(
            provider, model, deployment, _calls, _errors, _durations.Percentile(0.5), _durations.Percentile(0.95), _firstTokens.Percentile(0.5), _firstTokens.Percentile(0.95),
            _lookups, _hits, _saved, _retries, _fallbacks, _wins, _losses);
    }
}
