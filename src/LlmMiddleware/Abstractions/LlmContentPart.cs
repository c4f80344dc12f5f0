namespace LlmMiddleware;

/// <summary>A piece of message content.</summary>
public abstract class LlmContentPart
{
    private protected LlmContentPart()
    {
    }

    /// <summary>
    /// A prompt-caching breakpoint as the caller gave it (Anthropic <c>cache_control</c>, also accepted on OpenAI content
    /// parts), as raw JSON such as <c>{"type":"ephemeral"}</c>. Sent to providers with explicit caching (Anthropic).
    /// </summary>
    public string? CacheControl { get; set; }
}

/// <summary>Plain text.</summary>
public sealed class LlmTextPart(string text) : LlmContentPart
{
    /// <summary>The text.</summary>
    public string Text { get; } = text;
}

/// <summary>An image, either inline (base64) or by URL.</summary>
public sealed class LlmImagePart : LlmContentPart
{
    /// <summary>MIME type of inline data, such as <c>image/png</c>.</summary>
    public string? MediaType { get; init; }

    /// <summary>Base64 image data; <see langword="null"/> when <see cref="Url"/> or <see cref="Bytes"/> is set.</summary>
    public string? Data { get; init; }

    /// <summary>The image's raw bytes, as the gateway holds an image it downloaded: encoded to base64 only while a
    /// request is written, never held as a string of it. Empty when <see cref="Data"/> or <see cref="Url"/> is set.</summary>
    public ReadOnlyMemory<byte> Bytes { get; init; }

    /// <summary>An http(s) URL; <see langword="null"/> when <see cref="Data"/> is set.</summary>
    public string? Url { get; init; }

    /// <summary>OpenAI's <c>detail</c> hint, kept only for OpenAI upstreams.</summary>
    public string? Detail { get; init; }
}

/// <summary>A tool call made by the assistant.</summary>
public sealed class LlmToolCallPart(string id, string name, string argumentsJson) : LlmContentPart
{
    /// <summary>The call id that the matching result refers to.</summary>
    public string Id { get; } = id;

    /// <summary>The tool name.</summary>
    public string Name { get; } = name;

    /// <summary>The arguments as JSON text (an object).</summary>
    public string ArgumentsJson { get; } = argumentsJson;
}

/// <summary>The result of a tool call, sent back by the caller.</summary>
public sealed class LlmToolResultPart(string toolCallId) : LlmContentPart
{
    /// <summary>The id of the call this answers.</summary>
    public string ToolCallId { get; } = toolCallId;

    /// <summary>The result content: text and, where the caller's protocol allows, images.</summary>
    public List<LlmContentPart> Content { get; } = [];

    /// <summary>Whether the tool reported an error.</summary>
    public bool IsError { get; init; }
}

/// <summary>Model reasoning ("thinking") text, with the provider's signature when one was given.</summary>
public sealed class LlmReasoningPart(string text) : LlmContentPart
{
    /// <summary>The reasoning text (may be a summary).</summary>
    public string Text { get; } = text;

    /// <summary>Anthropic's thinking signature, needed to replay the block.</summary>
    public string? Signature { get; init; }

    /// <summary>Anthropic <c>redacted_thinking</c> data, replayed as is.</summary>
    public string? RedactedData { get; init; }
}

/// <summary>
/// Content the gateway does not model (OpenAI <c>input_audio</c> or <c>file</c> parts, Anthropic <c>document</c> or
/// server-tool blocks, ...), kept as the caller's JSON. It reaches providers that speak the caller's protocol unchanged;
/// sending it to another protocol is a 400 naming the part type.
/// </summary>
public sealed class LlmNativePart(LlmProtocol protocol, string type, string json) : LlmContentPart
{
    /// <summary>The type of the part that carries an embeddings answer (OpenAI-shaped JSON) through the response
    /// observers and the cache, which keep it as they keep a chat answer.</summary>
    internal const string EmbeddingsAnswer = "embeddings";

    /// <summary>The protocol the JSON is written in.</summary>
    public LlmProtocol Protocol { get; } = protocol;

    /// <summary>The part's <c>type</c>.</summary>
    public string Type { get; } = type;

    /// <summary>The part as the caller sent it.</summary>
    public string Json { get; } = json;
}
