namespace LlmMiddleware;

/// <summary>How each provider model and deployment served calls: volume, errors, latency, cache, retries, fallbacks and races.</summary>
public interface ILlmTrafficReport
{
    /// <summary>The traffic over the UTC days from <paramref name="from"/> to <paramref name="to"/> (inclusive; open
    /// when <see langword="null"/>), per provider, model and deployment, busiest first.</summary>
    ValueTask<IReadOnlyList<LlmTrafficRow>> QueryAsync(DateOnly? from, DateOnly? to, CancellationToken cancellationToken);
}

/// <summary>One provider model's (and deployment's) traffic. Calls refused before a provider was chosen are not in it.</summary>
/// <param name="Provider">The provider.</param>
/// <param name="Model">The upstream model.</param>
/// <param name="Deployment">The model-group deployment; <see langword="null"/> for calls to the model directly.</param>
/// <param name="Calls">Calls it answered or failed (race losers not included, see <paramref name="RaceLosses"/>).</param>
/// <param name="Errors">Calls that failed, or whose stream broke.</param>
/// <param name="LatencyP50Ms">Median duration of the successful calls a provider answered (cache hits left out).</param>
/// <param name="LatencyP95Ms">95th percentile of the same.</param>
/// <param name="TimeToFirstTokenP50Ms">Median time to first token of those calls that streamed.</param>
/// <param name="TimeToFirstTokenP95Ms">95th percentile of the same.</param>
/// <param name="CacheLookups">Calls looked up in the response cache (hits and misses; bypasses not included).</param>
/// <param name="CacheHits">Calls the cache answered (exact or semantic) with this model's earlier answer.</param>
/// <param name="SavedCost">What the answers the cache replayed had cost, in USD.</param>
/// <param name="Retries">Resends after transient failures.</param>
/// <param name="Fallbacks">Hand-overs from a failed deployment that the calls ending here made on their way to it.</param>
/// <param name="RaceWins">Races this deployment won.</param>
/// <param name="RaceLosses">Race legs it lost (billed, and metered as their own records).</param>
public sealed record LlmTrafficRow(
    string Provider, string Model, string? Deployment, long Calls, long Errors, double? LatencyP50Ms, double? LatencyP95Ms, double? TimeToFirstTokenP50Ms, double? TimeToFirstTokenP95Ms,
    long CacheLookups, long CacheHits, decimal SavedCost, long Retries, long Fallbacks, long RaceWins, long RaceLosses);
