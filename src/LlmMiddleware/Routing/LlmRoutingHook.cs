namespace LlmMiddleware;

/// <summary>
/// A host-supplied hook that vetoes or re-ranks a model group's deployments per request, for example to keep EU
/// tenants on EU deployments. Register with <c>AddLlmGateway().AddRoutingHook&lt;T&gt;()</c>; hooks run in registration
/// order, after the group's strategy has ordered the candidates.
/// </summary>
public abstract class LlmRoutingHook
{
    /// <summary>Edits <see cref="LlmRoutingContext.Candidates"/>: remove a deployment to veto it, reorder to re-rank.</summary>
    public abstract ValueTask OnRoutingAsync(LlmRoutingContext context, CancellationToken cancellationToken);
}

/// <summary>The routing decision a <see cref="LlmRoutingHook"/> may change.</summary>
public sealed class LlmRoutingContext
{
    internal LlmRoutingContext(LlmRequestContext call, string group, List<LlmDeployment> candidates)
    {
        Call = call;
        Group = group;
        Candidates = candidates;
    }

    /// <summary>The call being routed (its parsed request, caller, HTTP context).</summary>
    public LlmRequestContext Call { get; }

    /// <summary>The model group.</summary>
    public string Group { get; }

    /// <summary>The deployments that will be tried, best first.</summary>
    public List<LlmDeployment> Candidates { get; }
}
