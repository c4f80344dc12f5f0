namespace LlmMiddleware;

/// <summary>
/// Output-side policy (PII redaction, moderation): sees each answer before the caller does and may pass it, rewrite
/// it, or stop it with an <see cref="LlmGatewayException"/>, which the caller receives in its own protocol. Register with
/// <c>AddLlmGateway().AddOutputGuard&lt;T&gt;()</c>; guards run in registration order. With none registered, answers
/// take their usual path (and may be relayed byte for byte); with one, every answer is parsed and re-written.
/// Answers the cache stores are the guarded ones.
/// </summary>
public abstract class LlmOutputGuard
{
    /// <summary>A complete (non-streamed) answer: edit <see cref="LlmResponse.Content"/> to rewrite it, or throw to stop it.</summary>
    public virtual ValueTask OnResponseAsync(LlmRequestContext context, LlmResponse response, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>A streamed answer: the guard of this one stream, or <see langword="null"/> to let it pass untouched.</summary>
    public virtual LlmStreamGuard? OnStream(LlmRequestContext context) => null;
}

/// <summary>
/// Guards one streamed answer's text as it arrives. It may hold text back (to see a pattern whole across deltas) and
/// release it later; what it returns is what the caller receives, in well-formed events of its protocol. Throw an
/// <see cref="LlmGatewayException"/> to stop the stream: the caller gets an error event and nothing more. Reasoning and
/// tool-call deltas pass as they are.
/// </summary>
public abstract class LlmStreamGuard
{
    /// <summary>A text delta; returns the text to send now ("" to hold it all back).</summary>
    public abstract string OnText(string text);

    /// <summary>The text is over for now (a tool call, the finish or the end follows); returns what was held back.</summary>
    public virtual string OnTextEnd() => "";
}
