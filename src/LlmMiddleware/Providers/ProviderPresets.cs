using System.Collections.Frozen;
using LlmMiddleware.Protocols.OpenAI;

namespace LlmMiddleware.Providers;

/// <summary>A built-in provider: where it lives, which variables configure it and its protocol quirks.</summary>
internal sealed record ProviderPreset(
    string Name,
    LlmProviderKind Kind,
    string? DefaultBaseUrl,
    string? KeyVariable,
    string? BaseUrlVariable,
    bool RequiresKey,
    OpenAIDialect Dialect = OpenAIDialect.None,
    string? AlternateKeyVariable = null)
{
    /// <summary>A server on this host, needing no key (vLLM, Ollama): only there when the operator enables it.</summary>
    public bool IsLocal => !RequiresKey && Kind != LlmProviderKind.Simulated && DefaultBaseUrl?.StartsWith("http://localhost:", StringComparison.Ordinal) == true;
}

internal static class ProviderPresets
{
    public static readonly FrozenDictionary<string, ProviderPreset> All = new ProviderPreset[]
    {
        new("openai", LlmProviderKind.OpenAI, "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL", true),
        new("azure", LlmProviderKind.AzureOpenAI, null, "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", true),
        new("anthropic", LlmProviderKind.Anthropic, "https://api.anthropic.com", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", true),
        new("gemini", LlmProviderKind.Gemini, "https://generativelanguage.googleapis.com", "GEMINI_API_KEY", "GEMINI_BASE_URL", true, AlternateKeyVariable: "GOOGLE_API_KEY"),
        new("gemini-openai", LlmProviderKind.OpenAICompatible, "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY", "GEMINI_OPENAI_BASE_URL", true,
            OpenAIDialect.GeminiThoughtSignatures, AlternateKeyVariable: "GOOGLE_API_KEY"),
        new("groq", LlmProviderKind.OpenAICompatible, "https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_BASE_URL", true,
            OpenAIDialect.NoMessageName | OpenAIDialect.SingleChoice),
        new("cerebras", LlmProviderKind.OpenAICompatible, "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY", "CEREBRAS_BASE_URL", true,
            OpenAIDialect.NoPenalties | OpenAIDialect.NoParallelToolCalls | OpenAIDialect.ToolChoiceAutoOrNone),
        new("deepinfra", LlmProviderKind.OpenAICompatible, "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY", "DEEPINFRA_BASE_URL", true),
        new("mistral", LlmProviderKind.OpenAICompatible, "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "MISTRAL_BASE_URL", true,
            OpenAIDialect.LegacyMaxTokens | OpenAIDialect.NoStreamOptions | OpenAIDialect.NoMessageName | OpenAIDialect.NineCharacterToolIds |
            OpenAIDialect.RandomSeed | OpenAIDialect.NoUser | OpenAIDialect.NoReasoningEffort),
        new("xai", LlmProviderKind.OpenAICompatible, "https://api.x.ai/v1", "XAI_API_KEY", "XAI_BASE_URL", true, OpenAIDialect.ReasoningModelsRejectSampling),
        new("deepseek", LlmProviderKind.OpenAICompatible, "https://api.deepseek.com", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", true, OpenAIDialect.EchoReasoning),
        new("openrouter", LlmProviderKind.OpenAICompatible, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", true),
        new("together", LlmProviderKind.OpenAICompatible, "https://api.together.xyz/v1", "TOGETHER_API_KEY", "TOGETHER_BASE_URL", true),
        new("fireworks", LlmProviderKind.OpenAICompatible, "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", "FIREWORKS_BASE_URL", true),
        new("vllm", LlmProviderKind.OpenAICompatible, "http://localhost:8000/v1", "VLLM_API_KEY", "VLLM_BASE_URL", false),
        new("ollama", LlmProviderKind.OpenAICompatible, "http://localhost:11434/v1", "OLLAMA_API_KEY", "OLLAMA_BASE_URL", false),
        new("openai-compatible", LlmProviderKind.OpenAICompatible, null, null, null, false),
        new("simulated", LlmProviderKind.Simulated, "http://simulated.llm.local/v1", null, null, false),
        new("vertex", LlmProviderKind.VertexGemini, null, null, "VERTEX_BASE_URL", false),
        new("vertex-anthropic", LlmProviderKind.VertexAnthropic, null, null, "VERTEX_BASE_URL", false),
        new("bedrock", LlmProviderKind.Bedrock, null, null, "BEDROCK_BASE_URL", false),
        new("bedrock-anthropic", LlmProviderKind.BedrockAnthropic, null, null, "BEDROCK_BASE_URL", false),
    }.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
}
