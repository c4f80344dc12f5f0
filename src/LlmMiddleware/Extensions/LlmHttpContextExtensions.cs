using LlmMiddleware;

namespace Microsoft.AspNetCore.Http;

/// <summary>Access to the LLM call context from an <see cref="HttpContext"/>.</summary>
public static class LlmHttpContextExtensions
{
    /// <summary>The LLM call context of this request, or <see langword="null"/> if it is not an LLM call.</summary>
    public static LlmRequestContext? GetLlmContext(this HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        return httpContext.Features.Get<ILlmRequestFeature>()?.Context;
    }
}
