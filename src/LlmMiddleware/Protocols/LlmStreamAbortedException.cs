namespace LlmMiddleware.Protocols;

/// <summary>
/// Ends a streamed response abortively after an error event was written, so that callers whose SDKs accept a plain
/// end of stream as success (OpenAI's) cannot mistake a broken stream for a complete one.
/// </summary>
internal sealed class LlmStreamAbortedException(string message)
    : IOException($"The LLM response stream was ended abortively after an upstream failure: {message}");
