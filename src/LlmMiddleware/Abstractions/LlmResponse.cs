namespace LlmMiddleware;

/// <summary>Why generation stopped, normalized to the values every SDK accepts.</summary>
public enum LlmFinishReason
{
    /// <summary>Natural end of turn.</summary>
    Stop,

    /// <summary>A stop sequence matched (OpenAI reports it as <c>stop</c>).</summary>
    StopSequence,

    /// <summary>The output token limit was reached.</summary>
    Length,

    /// <summary>The model called tools.</summary>
    ToolCalls,

    /// <summary>Output was withheld by a safety filter or refused.</summary>
    ContentFilter,
}

/// <summary>A complete (non-streamed) chat response in the gateway's protocol-neutral form.</summary>
public sealed class LlmResponse
{
    /// <summary>The response id.</summary>
    public string Id { get; set; } = "";

    /// <summary>The model that answered.</summary>
    public string Model { get; set; } = "";

    /// <summary>Creation time (unix seconds).</summary>
    public long Created { get; set; }

    /// <summary>Text, reasoning and tool-call parts in the order the model produced them.</summary>
    public List<LlmContentPart> Content { get; } = [];

    /// <summary>Why generation stopped.</summary>
    public LlmFinishReason FinishReason { get; set; }

    /// <summary>The stop sequence that matched, when known.</summary>
    public string? StopSequence { get; set; }

    /// <summary>Token usage.</summary>
    public LlmUsage Usage { get; set; }
}

/// <summary>
/// Token usage. <see cref="InputTokens"/> counts every prompt token, cached or not (OpenAI's convention);
/// <see cref="OutputTokens"/> includes reasoning tokens.
/// </summary>
public readonly record struct LlmUsage
{
    /// <summary>All prompt tokens, including cache reads and cache writes.</summary>
    public long InputTokens { get; init; }

    /// <summary>Prompt tokens served from the provider's prompt cache.</summary>
    public long CachedInputTokens { get; init; }

    /// <summary>Prompt tokens written to the provider's prompt cache (Anthropic).</summary>
    public long CacheWriteInputTokens { get; init; }

    /// <summary>All generated tokens, including reasoning.</summary>
    public long OutputTokens { get; init; }

    /// <summary>Generated tokens spent on reasoning.</summary>
    public long ReasoningTokens { get; init; }

    /// <summary>Input plus output.</summary>
    public long TotalTokens => InputTokens + OutputTokens;
}
