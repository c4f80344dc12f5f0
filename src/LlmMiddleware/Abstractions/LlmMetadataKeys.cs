namespace LlmMiddleware;

/// <summary>
/// Route and cluster metadata keys that mark a YARP route as an LLM route (see <c>AddLlmTransforms()</c>).
/// Unknown keys with the <c>Llm.</c> prefix are rejected at start-up, so a typo cannot silently disable translation.
/// </summary>
public static class LlmMetadataKeys
{
    /// <summary>The protocol callers of the route speak: <c>openai</c> or <c>anthropic</c>. Marks the route as an LLM route.</summary>
    public const string InboundProtocol = "Llm.InboundProtocol";

    /// <summary>The provider (as named in the gateway configuration) the route's cluster points at; on the route or the cluster.</summary>
    public const string Provider = "Llm.Provider";

    /// <summary>
    /// The model group (from <c>LlmGateway:Groups</c>) that serves the route, instead of a provider: calls then run the
    /// gateway's own pipeline and router — stages, hooks, cache, metering, fallbacks, retries, cooldowns and racing —
    /// exactly as on the gateway endpoints, and YARP does not forward them (the route's cluster is not used).
    /// </summary>
    public const string Group = "Llm.Group";

    /// <summary>Optional: the upstream model to use whatever model the caller names.</summary>
    public const string Model = "Llm.Model";

    /// <summary>Optional: the route's cache policy, by name from <c>LlmGateway:Cache:Policies</c> (or <c>off</c>); the
    /// default policy (<c>LlmGateway:Cache</c>) applies otherwise.</summary>
    public const string CachePolicy = "Llm.CachePolicy";

    /// <summary>Optional: the task the route's calls perform (see <see cref="LlmTaskAttribute"/>).</summary>
    public const string Task = "Llm.Task";

    /// <summary>The prefix shared by all keys.</summary>
    public const string Prefix = "Llm.";
}
