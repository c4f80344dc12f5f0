namespace LlmMiddleware;

/// <summary>A function tool.</summary>
public sealed class LlmTool(string name, string? description, string parametersJson)
{
    /// <summary>The function name.</summary>
    public string Name { get; } = name;

    /// <summary>What the function does.</summary>
    public string? Description { get; } = description;

    /// <summary>The JSON Schema of the arguments (always an object schema).</summary>
    public string ParametersJson { get; } = parametersJson;

    /// <summary>Whether strict schema adherence was requested.</summary>
    public bool? Strict { get; init; }

    /// <summary>For a provider-native tool the gateway does not model (an Anthropic server tool such as web search): the
    /// protocol of <see cref="NativeJson"/>. Such a tool reaches only providers of that protocol.</summary>
    public LlmProtocol? NativeProtocol { get; init; }

    /// <summary>The native tool definition as the caller sent it.</summary>
    public string? NativeJson { get; init; }

    /// <summary>A prompt-caching breakpoint on the tool definitions, as raw JSON (see <see cref="LlmContentPart.CacheControl"/>).</summary>
    public string? CacheControl { get; init; }
}

/// <summary>How the model must use tools.</summary>
public enum LlmToolChoiceMode
{
    /// <summary>The model decides.</summary>
    Auto,

    /// <summary>No tool calls.</summary>
    None,

    /// <summary>At least one tool call.</summary>
    Required,

    /// <summary>A call to <see cref="LlmToolChoice.FunctionName"/>.</summary>
    Function,
}

/// <summary>A tool-choice directive.</summary>
public sealed record LlmToolChoice(LlmToolChoiceMode Mode, string? FunctionName = null);

/// <summary>The kind of structured output requested.</summary>
public enum LlmResponseFormatKind
{
    /// <summary>Free text.</summary>
    Text,

    /// <summary>Any JSON object.</summary>
    JsonObject,

    /// <summary>JSON matching <see cref="LlmResponseFormat.SchemaJson"/>.</summary>
    JsonSchema,
}

/// <summary>A structured-output request.</summary>
public sealed record LlmResponseFormat(LlmResponseFormatKind Kind, string? Name = null, string? SchemaJson = null, bool? Strict = null);

/// <summary>Reasoning settings.</summary>
public sealed record LlmReasoning
{
    /// <summary>Effort level (<c>minimal</c>, <c>low</c>, <c>medium</c>, <c>high</c>, ...), when given as an effort.</summary>
    public string? Effort { get; init; }

    /// <summary>Token budget, when given as a budget (Anthropic <c>budget_tokens</c>, Gemini <c>thinkingBudget</c>).</summary>
    public int? BudgetTokens { get; init; }

    /// <summary>Whether reasoning was explicitly disabled.</summary>
    public bool Disabled { get; init; }
}
