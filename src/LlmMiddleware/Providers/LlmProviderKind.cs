namespace LlmMiddleware.Providers;

/// <summary>How a provider is addressed: URL layout, authentication and wire protocol.</summary>
internal enum LlmProviderKind
{
    OpenAI,
    AzureOpenAI,
    Anthropic,
    Gemini,
    OpenAICompatible,
    Simulated,
}
