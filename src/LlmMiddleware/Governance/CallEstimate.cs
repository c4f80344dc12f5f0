using LlmMiddleware.Metering;
using LlmMiddleware.Routing;
using LlmMiddleware.Upstream;

namespace LlmMiddleware.Governance;

/// <summary>What governance knows of a call before it is sent: its prompt's size and how many legs it may race.</summary>
internal static class CallEstimate
{
    /// <summary>The prompt's tokens as counted for routing (counted here once if the route did not need to); for
    /// embeddings the body's length, as a token is at least one byte whatever the tokenizer.</summary>
    public static long PromptTokens(LlmRequestContext context)
    {
        if (context.OperationName != LlmOperationNames.Chat)
        {
            return context.HttpContext.Request.ContentLength ?? 0;
        }

        if (context.EstimatedPromptTokens < 0)
        {
            context.EstimatedPromptTokens = ChatTokenCounter.CountPrompt(context.Request, LlmTokenizers.Default, context.Codec).Tokens;
        }

        return context.EstimatedPromptTokens;
    }

    /// <summary>The deployments the call may reach (a model group's, fallbacks included), if it is routed through one.</summary>
    public static List<LlmDeployment>? Candidates(LlmRequestContext context) =>
        context.UpstreamState is PreparedCall { Candidates: { Count: > 0 } candidates } ? candidates : null;

    /// <summary>How many legs the call races at once: each is billed.</summary>
    public static int Legs(LlmRequestContext context, LlmRouter router) =>
        Candidates(context) is { Count: > 1 } candidates ? Math.Clamp(router.RaceFor(candidates[0].Group).Attempts, 1, candidates.Count) : 1;
}
