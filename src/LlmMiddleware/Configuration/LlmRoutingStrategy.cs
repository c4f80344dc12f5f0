namespace LlmMiddleware;

/// <summary>How a model group orders its deployments for a request; the first is tried first.</summary>
public enum LlmRoutingStrategy
{
    /// <summary>In configuration order.</summary>
    Priority,

    /// <summary>At random, in proportion to <see cref="LlmDeploymentOptions.Weight"/>.</summary>
    WeightedRandom,

    /// <summary>Lowest expected cost first, from the catalog's prices and the request's estimated tokens.</summary>
    LowestCost,

    /// <summary>Lowest moving average of time to first token (streams) or total time (complete responses) first.</summary>
    LowestLatency,

    /// <summary>Fewest requests in flight first.</summary>
    LeastInFlight,

    /// <summary>Only deployments that fit the request (context window, output limit, capabilities), cheapest first.</summary>
    CheapestThatFits,

    /// <summary>Only deployments that fit the request, fastest first.</summary>
    FastestThatFits,
}
