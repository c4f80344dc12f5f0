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

    /// <summary>Gemini on Google Cloud Vertex AI: Gemini's protocol, an OAuth token from the host's credentials.</summary>
    VertexGemini,

    /// <summary>Claude on Vertex AI: Anthropic's protocol with the model in the URL and the version in the body.</summary>
    VertexAnthropic,

    /// <summary>Amazon Bedrock's Converse API (any Bedrock model), signed with SigV4.</summary>
    Bedrock,

    /// <summary>Claude on Bedrock through InvokeModel: Anthropic's protocol, the model in the URL, the version in the body.</summary>
    BedrockAnthropic,
}
