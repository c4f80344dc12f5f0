namespace LlmMiddleware;

/// <summary>
/// A host-supplied hook around every LLM call. Register with <c>AddLlmGateway().AddHook&lt;T&gt;()</c>; hooks run
/// in registration order. Throw <see cref="LlmGatewayException"/> from <see cref="OnRequestAsync"/> to refuse a
/// call: the caller receives the error in its own protocol and nothing is sent upstream.
/// </summary>
public abstract class LlmGatewayHook
{
    /// <summary>Runs after the request is parsed and its provider resolved, before anything is sent upstream.
    /// <see cref="LlmRequestContext.Request"/> may be changed here.</summary>
    public virtual ValueTask OnRequestAsync(LlmRequestContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Runs once the response has been fully sent (or has failed), with usage and timings filled in.
    /// Exceptions thrown here are logged and do not affect the caller.</summary>
    public virtual ValueTask OnCompletedAsync(LlmRequestContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
