namespace LlmMiddleware;

/// <summary>Operation names of LLM calls, as the OpenTelemetry GenAI conventions spell <c>gen_ai.operation.name</c>.</summary>
public static class LlmOperationNames
{
    /// <summary>A chat completion (OpenAI Chat Completions, Anthropic Messages).</summary>
    public const string Chat = "chat";

    /// <summary>An embeddings call.</summary>
    public const string Embeddings = "embeddings";
}
