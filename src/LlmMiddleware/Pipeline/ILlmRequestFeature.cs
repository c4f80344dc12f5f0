namespace LlmMiddleware;

/// <summary>The HttpContext feature that carries the <see cref="LlmRequestContext"/> of an LLM call.</summary>
public interface ILlmRequestFeature
{
    /// <summary>The per-call context.</summary>
    LlmRequestContext Context { get; }
}

internal sealed class LlmRequestFeature(LlmRequestContext context) : ILlmRequestFeature
{
    public LlmRequestContext Context { get; } = context;
}
