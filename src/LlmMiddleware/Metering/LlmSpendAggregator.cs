using System.Collections.Concurrent;

namespace LlmMiddleware;

/// <summary>The dimension spend is grouped by.</summary>
public enum LlmSpendGrouping
{
    /// <summary>By upstream model (<c>provider/model</c>).</summary>
    Model,

    /// <summary>By caller key (fingerprint or virtual key id).</summary>
    Key,

    /// <summary>By caller team.</summary>
    Team,

    /// <summary>By UTC day.</summary>
    Day,

    /// <summary>By caller user.</summary>
    User,

    /// <summary>By caller app.</summary>
    App,
}

/// <summary>
/// Where spend reports come from: this instance's in-memory totals (<see cref="LlmSpendAggregator"/>) by default, every
/// instance's records in the ledger when a queryable ledger is added (<c>AddPostgreSqlLedger()</c>).
/// </summary>
public interface ILlmSpendReport
{
    /// <summary>Totals grouped by <paramref name="grouping"/> over the UTC days from <paramref name="from"/> to
    /// <paramref name="to"/> (inclusive; open when <see langword="null"/>), highest cost first.</summary>
    ValueTask<IReadOnlyList<LlmSpendRow>> QueryAsync(LlmSpendGrouping grouping, DateOnly? from, DateOnly? to, CancellationToken cancellationToken);
}

/// <summary>One row of a spend report.</summary>
/// <param name="Group">The group's value (a model, key, team, user, app or <c>yyyy-MM-dd</c> day; <c>(none)</c> when unset).</param>
/// <param name="Calls">Records counted (calls, plus race losers).</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="CachedInputTokens">Prompt tokens read from provider caches.</param>
/// <param name="OutputTokens">Generated tokens.</param>
/// <param name="Cost">Cost in USD of the priced records.</param>
/// <param name="UnpricedCalls">Records whose model has no price: their cost is unknown and not in <paramref name="Cost"/>.</param>
public sealed record LlmSpendRow(string Group, long Calls, long InputTokens, long CachedInputTokens, long OutputTokens, decimal Cost, long UnpricedCalls);

/// <summary>
/// In-memory spend totals of this gateway instance since it started, by day, model, key, team, user and app: the default
/// destination of call records, queried by <c>MapLlmSpend()</c> or directly. For durable, cross-instance totals add
/// the PostgreSQL ledger.
/// </summary>
public sealed class LlmSpendAggregator : ILlmSpendReport
{
    /// <summary>Most distinct (day, model, key, team, user, app) totals kept; past it, new models and callers count under
    /// <see cref="Other"/>, so callers presenting ever-new keys or model names cannot grow the gateway's memory.</summary>
    public const int MaxBuckets = 100_000;

    /// <summary>The model and caller of totals past <see cref="MaxBuckets"/>.</summary>
    public const string Other = "(other)";

    private readonly ConcurrentDictionary<(DateOnly Day, string Provider, string Model, string Key, string Team, string User, string App), Totals> _buckets = new();

    /// <summary>Adds a record to the totals.</summary>
    internal void Add(LlmCallRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var caller = record.Caller;
        var bucket = (Day: DateOnly.FromDateTime(record.Timestamp.UtcDateTime), Provider: record.Provider ?? None, Model: record.Model ?? None, Key: caller.Key ?? None, Team: caller.Team ?? None, User: caller.User ?? None, App: caller.App ?? None);
        if (!_buckets.TryGetValue(bucket, out var totals))
        {
            totals = _buckets.GetOrAdd(_buckets.Count < MaxBuckets ? bucket : bucket with { Model = Other, Key = Other, Team = Other, User = Other, App = Other }, static _ => new Totals());
        }

        lock (totals)
        {
            totals.Calls++;
            totals.InputTokens += record.InputTokens;
            totals.CachedInputTokens += record.CachedInputTokens;
            totals.OutputTokens += record.OutputTokens;
            totals.Cost += record.Cost ?? 0m;
            totals.UnpricedCalls += record.Unpriced ? 1 : 0;
        }
    }

    /// <summary>Totals grouped by <paramref name="grouping"/> over the UTC days from <paramref name="from"/> to
    /// <paramref name="to"/> (inclusive; open when <see langword="null"/>), highest cost first.</summary>
    public IReadOnlyList<LlmSpendRow> Query(LlmSpendGrouping grouping, DateOnly? from = null, DateOnly? to = null)
    {
        var rows = new Dictionary<string, Totals>(StringComparer.Ordinal);
        foreach (var (bucket, totals) in _buckets)
        {
            if (bucket.Day < (from ?? DateOnly.MinValue) || bucket.Day > (to ?? DateOnly.MaxValue))
            {
                continue;
            }

            var group = grouping switch
            {
                LlmSpendGrouping.Model => bucket.Provider == None ? None : bucket.Provider + "/" + bucket.Model,
                LlmSpendGrouping.Key => bucket.Key,
                LlmSpendGrouping.Team => bucket.Team,
                LlmSpendGrouping.User => bucket.User,
                LlmSpendGrouping.App => bucket.App,
                _ => bucket.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            };
            var row = rows.TryGetValue(group, out var existing) ? existing : rows[group] = new Totals();
            lock (totals)
            {
                row.Calls += totals.Calls;
                row.InputTokens += totals.InputTokens;
                row.CachedInputTokens += totals.CachedInputTokens;
                row.OutputTokens += totals.OutputTokens;
                row.Cost += totals.Cost;
                row.UnpricedCalls += totals.UnpricedCalls;
            }
        }

        return [.. rows
            .Select(r => new LlmSpendRow(r.Key, r.Value.Calls, r.Value.InputTokens, r.Value.CachedInputTokens, r.Value.OutputTokens, r.Value.Cost, r.Value.UnpricedCalls))
            .OrderByDescending(r => r.Cost).ThenBy(r => r.Group, StringComparer.Ordinal)];
    }

    ValueTask<IReadOnlyList<LlmSpendRow>> ILlmSpendReport.QueryAsync(LlmSpendGrouping grouping, DateOnly? from, DateOnly? to, CancellationToken cancellationToken) =>
        new(Query(grouping, from, to));

    private const string None = "(none)";

    private sealed class Totals
    {
        public long Calls;
        public long InputTokens;
        public long CachedInputTokens;
        public long OutputTokens;
        public decimal Cost;
        public long UnpricedCalls;
    }
}
