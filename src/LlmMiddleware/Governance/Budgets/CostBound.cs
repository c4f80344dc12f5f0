using LlmMiddleware.Catalog;
using LlmMiddleware.Routing;

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
        var prompt = CallEstimate.PromptTokens(context);
        var maxOutput = context.Request.MaxOutputTokens;
        var worst = 0m;
        if (CallEstimate.Candidates(context) is { } candidates)
        {
            foreach (var deployment in candidates)
            {
                worst = Math.Max(worst, Cost(deployment.Info, prompt, maxOutput, context.StartedAt));
            }
        }
        else if (context.ProviderName is { } provider && context.UpstreamModel is { } model)
        {
            worst = Cost(catalog.Find(provider, model), prompt, maxOutput, context.StartedAt);
        }

        return worst * CallEstimate.Legs(context, router);
    }

    private decimal Cost(LlmModelInfo? info, long prompt, int? maxOutput, DateTimeOffset at)
    {
        if (info?.PricingAt(at)?.ForInputTokens(prompt) is not { } price)
        {
            return 0m;
        }

        var output = maxOutput ?? (info.MaxOutputTokens > 0 ? info.MaxOutputTokens : assumedMaxOutputTokens);
        var input = Math.Max(price.Input, price.CacheWrite ?? 0m);
        var perOutput = Math.Max(price.Output, price.Reasoning ?? 0m);
        return ((prompt * input) + (output * perOutput)) / PerMillion;
    }
}
