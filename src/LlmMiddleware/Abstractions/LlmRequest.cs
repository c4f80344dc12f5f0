namespace LlmMiddleware;

/// <summary>
/// A chat request in the gateway's protocol-neutral form. Every inbound format is parsed into it and every
/// provider request is written from it, so hooks and routers see one shape whatever the caller speaks.
/// </summary>
public sealed class LlmRequest
{
    /// <summary>The model name the caller asked for (an alias or a <c>provider/model</c> name).</summary>
    public string Model { get; set; } = "";

    /// <summary>System and developer instructions, in the order the caller gave them.</summary>
    public List<LlmTextPart> System { get; } = [];

    /// <summary>The conversation, without system messages.</summary>
    public List<LlmMessage> Messages { get; } = [];

    /// <summary>Function tools the model may call.</summary>
    public List<LlmTool> Tools { get; } = [];

    /// <summary>How the model must use <see cref="Tools"/>; <see langword="null"/> for the provider's default.</summary>
    public LlmToolChoice? ToolChoice { get; set; }

    /// <summary>Whether the model may call several tools in one turn; <see langword="null"/> for the provider's default.</summary>
    public bool? ParallelToolCalls { get; set; }

    /// <summary>Upper bound on generated tokens; <see langword="null"/> when the caller gave none.</summary>
    public int? MaxOutputTokens { get; set; }

    /// <summary>Sampling temperature as the caller gave it (0–2 in OpenAI terms).</summary>
    public double? Temperature { get; set; }

    /// <summary>Nucleus sampling.</summary>
    public double? TopP { get; set; }

    /// <summary>Top-k sampling (Anthropic, Gemini).</summary>
    public int? TopK { get; set; }

    /// <summary>Stop sequences.</summary>
    public List<string> StopSequences { get; } = [];

    /// <summary>Whether the caller asked for a streamed response.</summary>
    public bool Stream { get; set; }

    /// <summary>Whether an OpenAI caller asked for the trailing usage chunk (<c>stream_options.include_usage</c>).</summary>
    public bool StreamIncludeUsage { get; set; }

    /// <summary>Structured-output request; <see langword="null"/> for free text.</summary>
    public LlmResponseFormat? ResponseFormat { get; set; }

    /// <summary>The caller's own fallback models and provider preferences (OpenAI protocol's <c>models</c> and
    /// <c>provider</c>); <see langword="null"/> when it sent none.</summary>
    public LlmRequestRouting? Routing { get; set; }

    /// <summary>Reasoning / extended-thinking settings; <see langword="null"/> when not requested.</summary>
    public LlmReasoning? Reasoning { get; set; }

    /// <summary>End-user identifier (OpenAI <c>user</c>, Anthropic <c>metadata.user_id</c>).</summary>
    public string? User { get; set; }

    /// <summary>Number of choices (OpenAI <c>n</c>, Gemini <c>candidateCount</c>).</summary>
    public int? N { get; set; }

    /// <summary>Sampling seed.</summary>
    public long? Seed { get; set; }

    /// <summary>Presence penalty.</summary>
    public double? PresencePenalty { get; set; }

    /// <summary>Frequency penalty.</summary>
    public double? FrequencyPenalty { get; set; }

    /// <summary>The caller's top-level fields its protocol's reader does not model, as raw JSON by name (passthrough still
    /// sends them, so the cache keys them); <see langword="null"/> when there are none.</summary>
    internal List<KeyValuePair<string, string>>? UnmodeledFields { get; set; }

    /// <summary>A feature of the caller's request that only its own protocol's provider can serve (a Responses call's
    /// <c>previous_response_id</c>, hosted tools): translating the request is refused with this parameter and message.</summary>
    internal (string Param, string Message)? PassthroughOnly { get; set; }

    /// <summary>Whether any message carries a tool call or a tool result.</summary>
    public bool HasToolHistory()
    {
        foreach (var message in Messages)
        {
            foreach (var part in message.Content)
            {
                if (part is LlmToolCallPart or LlmToolResultPart)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
