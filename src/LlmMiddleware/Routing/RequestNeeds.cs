namespace LlmMiddleware.Routing;

/// <summary>What a request needs from a model: an estimate of its size and the capabilities it uses.</summary>
internal readonly record struct RequestNeeds(long InputTokens, int OutputTokens, LlmModelCapabilities Capabilities, bool Stream)
{
    /// <summary>Output tokens assumed for cost estimates when the caller sets no limit.</summary>
    public const int AssumedOutputTokens = 256;

    /// <summary>
    /// Estimates from the request alone: about four characters per token plus per-message and per-image overheads.
    /// A conservative stand-in until requests are counted with the provider's tokenizer.
    /// </summary>
    public static RequestNeeds From(LlmRequest request)
    {
        long characters = 0;
        var images = 0;
        var capabilities = LlmModelCapabilities.None;
        foreach (var part in request.System)
        {
            characters += part.Text.Length;
        }

        foreach (var message in request.Messages)
        {
            characters += 16;
            foreach (var part in message.Content)
            {
                switch (part)
                {
                    case LlmTextPart text:
                        characters += text.Text.Length;
                        break;
                    case LlmImagePart:
                        images++;
                        break;
                    case LlmToolCallPart call:
                        characters += call.Name.Length + call.ArgumentsJson.Length;
                        capabilities |= LlmModelCapabilities.Tools;
                        break;
                    case LlmToolResultPart result:
                        capabilities |= LlmModelCapabilities.Tools;
                        foreach (var inner in result.Content)
                        {
                            characters += inner is LlmTextPart t ? t.Text.Length : 0;
                            images += inner is LlmImagePart ? 1 : 0;
                        }

                        break;
                    case LlmReasoningPart reasoning:
                        characters += reasoning.Text.Length;
                        break;
                    case LlmNativePart native:
                        characters += native.Json.Length;
                        break;
                }
            }
        }

        foreach (var tool in request.Tools)
        {
            characters += tool.Name.Length + (tool.Description?.Length ?? 0) + tool.ParametersJson.Length;
            capabilities |= LlmModelCapabilities.Tools;
        }

        if (images > 0)
        {
            capabilities |= LlmModelCapabilities.Images;
        }

        if (request.ResponseFormat is { Kind: LlmResponseFormatKind.JsonSchema })
        {
            capabilities |= LlmModelCapabilities.JsonSchema;
        }

        if (request.Stream)
        {
            capabilities |= LlmModelCapabilities.Streaming;
        }

        if (request.Reasoning is { Disabled: false })
        {
            capabilities |= LlmModelCapabilities.Reasoning;
        }

        return new RequestNeeds((characters / 4) + (images * 1600), request.MaxOutputTokens ?? 0, capabilities, request.Stream);
    }

    /// <summary>Whether the deployment can take the request: context window, output limit and capabilities.</summary>
    public bool FitIn(LlmDeployment deployment)
    {
        if ((deployment.Capabilities & Capabilities) != Capabilities)
        {
            return false;
        }

        return deployment.Info is not { ContextWindow: > 0 } info ||
            (InputTokens + OutputTokens <= info.ContextWindow && (info.MaxOutputTokens <= 0 || OutputTokens <= info.MaxOutputTokens));
    }

    /// <summary>Expected cost in USD from list prices; unknown prices sort last.</summary>
    public double ExpectedCost(LlmDeployment deployment) => deployment.Info?.Pricing is { } pricing
        ? ((double)pricing.Input * InputTokens + (double)pricing.Output * Math.Max(OutputTokens, AssumedOutputTokens)) / 1_000_000
        : double.PositiveInfinity;
}
