using LlmMiddleware.Catalog;
using LlmMiddleware.Metering;
using LlmMiddleware.Routing;
using LlmMiddleware.Upstream;

namespace LlmMiddleware.Governance.Budgets;

/// <summary>
/// The most a call can cost, decided before it is sent: its prompt as counted plus its <c>max_tokens</c> (or the model's
/// output limit) at the priciest deployment it may reach — fallbacks included, since any one may answer — once per race
/// leg, as every leg is billed. Unpriced models count nothing, as metering prices them.
/// </summary>
internal sealed class CostBound(LlmRouter router, LlmModelCatalog catalog, int assumedMaxOutputTokens)
{
    private const decimal PerMillion = 1_000_000m;

    public decimal Of(LlmRequestContext context)
    {
        var request = context.Request;
        long prompt;
        if (context.OperationName == LlmOperationNames.Chat)
        {
            if (context.EstimatedPromptTokens < 0)
            {
                context.EstimatedPromptTokens = ChatTokenCounter.CountPrompt(request, LlmTokenizers.Default, context.Codec).Tokens;
            }

            prompt = context.EstimatedPromptTokens;
        }
        else
        {
            // Embeddings: a token is at least one byte of the body, whatever the tokenizer.
            prompt = context.HttpContext.Request.ContentLength ?? 0;
        }

        var worst = 0m;
        var legs = 1;
        if (context.UpstreamState is PreparedCall { Candidates: { Count: > 0 } candidates })
        {
            foreach (var deployment in candidates)
            {
                worst = Math.Max(worst, Cost(deployment.Info, prompt, request.MaxOutputTokens, context.StartedAt));
            }

            legs = candidates.Count > 1 ? Math.Clamp(router.RaceFor(candidates[0].Group).Attempts, 1, candidates.Count) : 1;
        }
        else if (context.ProviderName is { } provider && context.UpstreamModel is { } model)
        {
            worst = Cost(catalog.Find(provider, model), prompt, request.MaxOutputTokens, context.StartedAt);
        }

        return worst * legs;
    }

    private decimal Cost(LlmModelInfo? info, long prompt, int? maxOutput, DateTimeOffset at)
    {
        if (info?.PricingAt(at) is not { } price)
        {
            return 0m;
        }

        var output = maxOutput ?? (info.MaxOutputTokens > 0 ? info.MaxOutputTokens : assumedMaxOutputTokens);
        var input = Math.Max(price.Input, price.CacheWrite ?? 0m);
        var perOutput = Math.Max(price.Output, price.Reasoning ?? 0m);
        return ((prompt * input) + (output * perOutput)) / PerMillion;
    }
}
