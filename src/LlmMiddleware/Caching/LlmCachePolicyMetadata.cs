namespace LlmMiddleware;

/// <summary>
/// Endpoint metadata selecting the cache policy of the gateway endpoints it is applied to: a named policy from
/// <c>LlmGateway:Cache:Policies</c>, or a policy given in code. Added by <c>WithLlmCachePolicy</c>.
/// </summary>
public sealed class LlmCachePolicyMetadata
{
    /// <summary>Selects the named policy <paramref name="policyName"/> (<c>off</c> for none).</summary>
    public LlmCachePolicyMetadata(string policyName)
    {
        ArgumentException.ThrowIfNullOrEmpty(policyName);
        PolicyName = policyName;
    }

    /// <summary>Uses <paramref name="policy"/>.</summary>
    public LlmCachePolicyMetadata(LlmCachePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Policy = policy;
    }

    /// <summary>The named policy, when selected by name.</summary>
    public string? PolicyName { get; }

    /// <summary>The policy, when given in code.</summary>
    public LlmCachePolicy? Policy { get; }
}
