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

    /// <summary>
    /// Instructions given mid-conversation, where they stand (Anthropic <c>role:"system"</c> messages, as Claude Code
    /// sends them); instructions ahead of the conversation are <see cref="LlmRequest.System"/>. Providers without such
    /// messages get them as they can: OpenAI as system messages in place, Gemini folded into the user turn there.
    /// </summary>
    System,
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
