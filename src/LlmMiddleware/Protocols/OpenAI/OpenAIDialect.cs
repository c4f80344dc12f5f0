namespace LlmMiddleware.Protocols.OpenAI;

/// <summary>Known deviations of OpenAI-compatible providers from the OpenAI API (protocols reference §6).</summary>
[Flags]
internal enum OpenAIDialect
{
    /// <summary>The OpenAI API itself.</summary>
    None = 0,

    /// <summary>Send <c>max_tokens</c> instead of <c>max_completion_tokens</c>.</summary>
    LegacyMaxTokens = 1 << 0,

    /// <summary>Do not send <c>stream_options</c>.</summary>
    NoStreamOptions = 1 << 1,

    /// <summary>Do not send <c>messages[].name</c>.</summary>
    NoMessageName = 1 << 2,

    /// <summary>Do not send <c>presence_penalty</c> / <c>frequency_penalty</c>.</summary>
    NoPenalties = 1 << 3,

    /// <summary>Do not send <c>parallel_tool_calls</c>.</summary>
    NoParallelToolCalls = 1 << 4,

    /// <summary><c>tool_choice</c> accepts only <c>auto</c> and <c>none</c>.</summary>
    ToolChoiceAutoOrNone = 1 << 5,

    /// <summary>Tool-call ids must be nine alphanumerics (Mistral).</summary>
    NineCharacterToolIds = 1 << 6,

    /// <summary><c>n</c> must be 1.</summary>
    SingleChoice = 1 << 7,

    /// <summary>Reasoning models reject penalties and <c>stop</c> (xAI).</summary>
    ReasoningModelsRejectSampling = 1 << 8,

    /// <summary>Send <c>random_seed</c> instead of <c>seed</c> (Mistral).</summary>
    RandomSeed = 1 << 9,

    /// <summary>Do not send <c>user</c> (Mistral rejects unknown fields).</summary>
    NoUser = 1 << 10,

    /// <summary>Do not send <c>reasoning_effort</c>.</summary>
    NoReasoningEffort = 1 << 11,

    /// <summary>Echo Gemini thought signatures as <c>extra_content.google.thought_signature</c> on tool calls, and keep
    /// tool-call ids whole (Gemini's OpenAI-compatible endpoint).</summary>
    GeminiThoughtSignatures = 1 << 12,

    /// <summary>Send an assistant turn's reasoning back as <c>reasoning_content</c>: DeepSeek's thinking mode refuses
    /// (400) a conversation whose tool-calling turns lack it.</summary>
    EchoReasoning = 1 << 13,
}
