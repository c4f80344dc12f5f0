using System.Buffers;

namespace LlmMiddleware.Routing;

/// <summary>
/// Orders a group's deployments for one request, best first, into a caller-provided span of indices. Allocation-free
/// for groups of up to <see cref="StackLimit"/> deployments.
/// </summary>
internal static class DeploymentSelector
{
    public const int StackLimit = 64;

    /// <summary>Writes the order into <paramref name="order"/> and returns how many deployments are eligible.</summary>
    public static int Order(LlmRoutingStrategy strategy, LlmDeployment[] deployments, in RequestNeeds needs, Span<int> order, Random random)
    {
        var count = 0;
        var onlyFitting = strategy is LlmRoutingStrategy.CheapestThatFits or LlmRoutingStrategy.FastestThatFits;
        for (var i = 0; i < deployments.Length; i++)
        {
            if (!onlyFitting || needs.FitIn(deployments[i]))
            {
                order[count++] = i;
            }
        }

        if (strategy == LlmRoutingStrategy.Priority || count < 2)
        {
            return count;
        }

        (double Key, int Index)[]? rented = null;
        var ranked = count <= StackLimit ? stackalloc (double Key, int Index)[count] : (rented = ArrayPool<(double, int)>.Shared.Rent(count)).AsSpan(0, count);
        for (var k = 0; k < count; k++)
        {
            var deployment = deployments[order[k]];
            var key = strategy switch
            {
                // Efraimidis–Spirakis: sorting by -ln(u)/w draws a weighted random permutation.
                LlmRoutingStrategy.WeightedRandom => deployment.Weight > 0 ? -Math.Log(1 - random.NextDouble()) / deployment.Weight : double.PositiveInfinity,
                LlmRoutingStrategy.LowestCost or LlmRoutingStrategy.CheapestThatFits => needs.ExpectedCost(deployment),
                LlmRoutingStrategy.LowestLatency or LlmRoutingStrategy.FastestThatFits => deployment.LatencyKeyMs(needs.Stream),
                LlmRoutingStrategy.LeastInFlight => deployment.InFlight,
                _ => 0,
            };

            // Ties keep priority order: the index is the second sort key.
            ranked[k] = (key, order[k]);
        }

        ranked.Sort();
        for (var k = 0; k < count; k++)
        {
            order[k] = ranked[k].Index;
        }

        if (rented is not null)
        {
            ArrayPool<(double, int)>.Shared.Return(rented);
        }

        return count;
    }
}
