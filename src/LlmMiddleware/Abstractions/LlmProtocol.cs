namespace LlmMiddleware;

/// <summary>A wire protocol spoken by a caller or by an upstream provider.</summary>
public enum LlmProtocol
{
    /// <summary>OpenAI Chat Completions (<c>POST /v1/chat/completions</c>), also spoken by the OpenAI-compatible family.</summary>
    OpenAIChat,

    /// <summary>Anthropic Messages (<c>POST /v1/messages</c>).</summary>
    AnthropicMessages,

    /// <summary>Google Gemini <c>generateContent</c> / <c>streamGenerateContent</c>.</summary>
    Gemini,

    /// <summary>OpenAI Responses (<c>POST /v1/responses</c>), spoken by callers; translated for every provider.</summary>
    OpenAIResponses,

    /// <summary>Amazon Bedrock Converse (<c>/converse</c>, <c>/converse-stream</c>), spoken by providers only.</summary>
    BedrockConverse,
}
