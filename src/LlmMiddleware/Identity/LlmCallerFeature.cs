namespace LlmMiddleware.Identity;

/// <summary>Carries the identity an in-process call is attributed to (the caller whose request caused it).</summary>
internal sealed class LlmCallerFeature(LlmCallerIdentity caller)
{
    public LlmCallerIdentity Caller { get; } = caller;
}
