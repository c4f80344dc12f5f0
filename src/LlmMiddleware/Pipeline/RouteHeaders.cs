namespace LlmMiddleware.Pipeline;

/// <summary>The response headers that say where a call went (when <c>EmitRouteHeaders</c> is on).</summary>
internal static class RouteHeaders
{
    /// <summary>Which provider, model and deployment answered, and after how many attempts.</summary>
    public static void Write(LlmRequestContext context)
    {
        var headers = context.HttpContext.Response.Headers;
        if (context.ProviderName is { } provider)
        {
            headers["x-llm-provider"] = provider;
        }

        if (context.UpstreamModel is { } model)
        {
            headers["x-llm-model"] = model;
        }

        if (context.Deployment is { } deployment)
        {
            headers["x-llm-deployment"] = deployment.Name;
        }

        if (context.Attempts.Count > 0)
        {
            headers["x-llm-attempts"] = context.Attempts.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
