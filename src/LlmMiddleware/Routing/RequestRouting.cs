namespace LlmMiddleware.Routing;

/// <summary>
/// A caller's provider preferences (<see cref="LlmRequestRouting"/>) applied to one model's deployments, already in
/// the group's order: <c>order</c> brings the providers it names to the front in its order, <c>sort</c> ranks the rest
/// of the way, and <c>allow_fallbacks: false</c> keeps only the named providers (or, without an order, the first one's). Deployments
/// cooling down stay last, as the router leaves them. Nothing is ever added.
/// </summary>
internal static class RequestRouting
{
    public static IEnumerable<LlmDeployment> Apply(List<LlmDeployment> deployments, LlmRequestRouting routing, RequestNeeds needs, DateTimeOffset now)
    {
        var order = routing.ProviderOrder;
        var byOrder = deployments.OrderBy(d => Rank(order, d.Provider));
        var ranked = (routing.Sort switch
        {
            LlmProviderSort.Price => byOrder.ThenBy(d => needs.ExpectedCost(d)),
            LlmProviderSort.Latency => byOrder.ThenBy(d => d.LatencyKeyMs(needs.Stream)),
            LlmProviderSort.Throughput => byOrder.ThenBy(d => d.ThroughputKey),
            _ => byOrder,
        }).ToList();

        var kept = routing.AllowFallbacks ? ranked
            : order.Count > 0 ? ranked.FindAll(d => Rank(order, d.Provider) < order.Count)
            : ranked.FindAll(d => d.Provider == ranked[0].Provider);
        return kept.OrderBy(d => d.IsCoolingDown(now) ? 1 : 0);
    }

    private static int Rank(List<string> order, string provider)
    {
        var index = order.FindIndex(p => string.Equals(p, provider, StringComparison.OrdinalIgnoreCase));
        return index < 0 ? order.Count : index;
    }
}
