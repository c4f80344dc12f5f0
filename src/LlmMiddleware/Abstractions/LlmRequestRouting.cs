namespace LlmMiddleware;

/// <summary>
/// A caller's own routing wishes, OpenRouter-style, on an OpenAI-protocol request: fallback models (<c>models</c>) and
/// provider preferences (<c>provider: {order, allow_fallbacks, sort}</c>). The gateway honours them only within what
/// its host configured (<see cref="LlmGatewayOptions.PerRequestRouting"/>): they reorder or narrow the deployments the
/// host enabled, never add any.
/// </summary>
public sealed class LlmRequestRouting
{
    /// <summary>Models to fall back to, in order, after the request's own <c>model</c> (aliases, groups or <c>provider/model</c>).</summary>
    public List<string> Models { get; } = [];

    /// <summary>Providers to try first, in this order (<c>provider.order</c>).</summary>
    public List<string> ProviderOrder { get; } = [];

    /// <summary>Whether providers outside <see cref="ProviderOrder"/> may still be tried after those in it (<c>provider.allow_fallbacks</c>, default true).</summary>
    public bool AllowFallbacks { get; set; } = true;

    /// <summary>How to rank each model's deployments (<c>provider.sort</c>); <see langword="null"/> keeps the group's strategy.</summary>
    public LlmProviderSort? Sort { get; set; }
}

/// <summary>The ranking a caller asks for in <c>provider.sort</c>.</summary>
public enum LlmProviderSort
{
    /// <summary>Cheapest first, from list prices for the request's size.</summary>
    Price,

    /// <summary>Most output tokens per second first, as measured.</summary>
    Throughput,

    /// <summary>Lowest time to first token (streams) or response time first, as measured.</summary>
    Latency,
}
