namespace LlmMiddleware;

/// <summary>The author of a message.</summary>
public enum LlmRole
{
    /// <summary>The caller's turn.</summary>
    User,

    /// <summary>The model's turn.</summary>
    Assistant,

    /// <summary>Tool results (OpenAI <c>role:"tool"</c>); Anthropic and Gemini carry them in a user turn.</summary>
    Tool,
}

/// <summary>One turn of the conversation.</summary>
public sealed class LlmMessage
{
    /// <summary>Creates a message.</summary>
    public LlmMessage(LlmRole role) => Role = role;

    /// <summary>Who wrote the message.</summary>
    public LlmRole Role { get; }

    /// <summary>Optional participant name (OpenAI <c>name</c>).</summary>
    public string? Name { get; set; }

    /// <summary>The message content, in order.</summary>
    public List<LlmContentPart> Content { get; } = [];
}
