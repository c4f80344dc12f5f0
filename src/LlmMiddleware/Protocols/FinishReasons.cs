namespace LlmMiddleware.Protocols;

/// <summary>Stop / finish reason mapping (protocols reference §2.1).</summary>
internal static class FinishReasons
{
    public static LlmFinishReason FromOpenAI(ReadOnlySpan<byte> value) => value switch
    {
        _ when value.SequenceEqual("length"u8) => LlmFinishReason.Length,
        _ when value.SequenceEqual("tool_calls"u8) || value.SequenceEqual("function_call"u8) => LlmFinishReason.ToolCalls,
        _ when value.SequenceEqual("content_filter"u8) => LlmFinishReason.ContentFilter,
        _ => LlmFinishReason.Stop,
    };

    public static ReadOnlySpan<byte> ToOpenAI(LlmFinishReason reason) => reason switch
    {
        LlmFinishReason.Length => "length"u8,
        LlmFinishReason.ToolCalls => "tool_calls"u8,
        LlmFinishReason.ContentFilter => "content_filter"u8,
        _ => "stop"u8,
    };

    public static LlmFinishReason FromAnthropic(ReadOnlySpan<byte> value) => value switch
    {
        _ when value.SequenceEqual("max_tokens"u8) || value.SequenceEqual("model_context_window_exceeded"u8) => LlmFinishReason.Length,
        _ when value.SequenceEqual("tool_use"u8) => LlmFinishReason.ToolCalls,
        _ when value.SequenceEqual("stop_sequence"u8) => LlmFinishReason.StopSequence,
        _ when value.SequenceEqual("refusal"u8) => LlmFinishReason.ContentFilter,
        _ => LlmFinishReason.Stop,
    };

    public static ReadOnlySpan<byte> ToAnthropic(LlmFinishReason reason) => reason switch
    {
        LlmFinishReason.Length => "max_tokens"u8,
        LlmFinishReason.ToolCalls => "tool_use"u8,
        LlmFinishReason.StopSequence => "stop_sequence"u8,
        LlmFinishReason.ContentFilter => "refusal"u8,
        _ => "end_turn"u8,
    };

    public static LlmFinishReason FromGemini(string? value, bool sawToolCall) => value switch
    {
        "MAX_TOKENS" => LlmFinishReason.Length,
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "LANGUAGE" or "IMAGE_SAFETY" or "IMAGE_PROHIBITED_CONTENT" or "IMAGE_RECITATION" => LlmFinishReason.ContentFilter,
        _ when sawToolCall => LlmFinishReason.ToolCalls,
        _ => LlmFinishReason.Stop,
    };
}
