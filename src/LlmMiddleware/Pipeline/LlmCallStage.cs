namespace LlmMiddleware;

/// <summary>Runs the rest of the LLM call pipeline: the next stage, or the router at the end.</summary>
/// <param name="context">The call.</param>
/// <param name="cancellationToken">Cancelled when the caller goes away.</param>
public delegate ValueTask LlmCallDelegate(LlmRequestContext context, CancellationToken cancellationToken);

/// <summary>
/// One step of the LLM call pipeline, in the shape of ASP.NET Core middleware and <c>DelegatingChatClient</c>: it gets
/// the call after the request is parsed and its route resolved, and the rest of the pipeline as <c>next</c>. It can
/// act before (edit <see cref="LlmRequestContext.Request"/>), short-circuit (answer itself, or throw
/// <see cref="LlmGatewayException"/> to refuse in the caller's protocol), and act after <c>next</c> returns, when the
/// response has been sent: a failure further in has then already been answered and is on
/// <see cref="LlmRequestContext.Error"/>. For work that needs the call's record, use
/// <see cref="LlmRequestContext.OnCompleted(Func{LlmRequestContext, object?, ValueTask}, object?)"/>.
/// The first stage registered is the outermost. Stages are singletons: keep per-call state on the context.
/// </summary>
public abstract class LlmCallStage
{
    /// <summary>Whether this stage may change <see cref="LlmRequestContext.Request"/>. While no stage does, a request
    /// in its provider's own protocol is forwarded as the caller's bytes (passthrough) instead of being rewritten.
    /// <see langword="true"/> unless overridden: override to return <see langword="false"/> for a stage that only reads it.</summary>
    public virtual bool EditsRequest => true;

    /// <summary>Whether this stage records the calls through it (the metering stage): the framing then records only
    /// calls that fail before reaching the pipeline.</summary>
    internal virtual bool RecordsCalls => false;

    /// <summary>Whether, for <paramref name="context"/>, this stage would only call <c>next</c> (a built-in stage with
    /// nothing to do: no hooks, no cache policy). The pipeline then calls <c>next</c> itself, without the stage's
    /// boundary: one async frame less per call.</summary>
    internal virtual bool PassesThrough(LlmRequestContext context) => false;

    /// <summary>Handles the call, calling <paramref name="next"/> at most once to go on.</summary>
    public abstract ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken);
}
