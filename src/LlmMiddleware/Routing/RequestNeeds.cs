namespace LlmMiddleware.Routing;

/// <summary>What a request needs from a model: an estimate of its size and the capabilities it uses.</summary>
internal readonly record struct RequestNeeds(long InputTokens, int OutputTokens, LlmModelCapabilities Capabilities, bool Stream)
{
    /// <summary>Output tokens assumed for cost estimates when the caller sets no limit.</summary>
    public const int AssumedOutputTokens = 256;

    /// <summary>When the call started: prices are those in force then.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>
    /// Counts the prompt with the tokenizer and the chat format's overheads (<see cref="Metering.ChatTokenCounter"/>;
    /// o200k_base, as the deployment is not chosen yet) and collects the capabilities the request uses.
    /// </summary>
    public static RequestNeeds From(LlmRequest request, Protocols.LlmCodec codec)
    {
        var capabilities = LlmModelCapabilities.None;
        foreach (var message in request.Messages)
        {
            foreach (var part in message.Content)
            {
                capabilities |= part switch
                {
                    LlmImagePart => LlmModelCapabilities.Images,
                    LlmToolCallPart => LlmModelCapabilities.Tools,
                    LlmToolResultPart result => LlmModelCapabilities.Tools | (result.Content.Exists(p => p is LlmImagePart) ? LlmModelCapabilities.Images : 0),
                    _ => LlmModelCapabilities.None,
                };
            }
        }

        if (request.Tools.Count > 0)
        {
            capabilities |= LlmModelCapabilities.Tools;
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

        var (tokens, _) = Metering.ChatTokenCounter.CountPrompt(request, Metering.LlmTokenizers.Default, codec);
        return new RequestNeeds(tokens, request.MaxOutputTokens ?? 0, capabilities, request.Stream);
    }

    /// <summary>The call's size for ranking deployments (price, latency), reusing the router's prompt count when it has
    /// made one (capabilities are then left out: they were checked when the router chose what fits).</summary>
    public static RequestNeeds For(LlmRequestContext context) =>
        (context.EstimatedPromptTokens >= 0 && context.Request.MaxOutputTokens is var output
            ? new RequestNeeds(context.EstimatedPromptTokens, output ?? 0, LlmModelCapabilities.None, context.Request.Stream)
            : From(context.Request, context.Codec)) with { At = context.StartedAt };

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

    /// <summary>Expected cost in USD from the list prices in force (at the prompt's tier); unknown prices sort last.</summary>
    public double ExpectedCost(LlmDeployment deployment) => deployment.Info?.PricingAt(At)?.ForInputTokens(InputTokens) is { } pricing
        ? ((double)pricing.Input * InputTokens + (double)pricing.Output * Math.Max(OutputTokens, AssumedOutputTokens)) / 1_000_000
        : double.PositiveInfinity;
}
