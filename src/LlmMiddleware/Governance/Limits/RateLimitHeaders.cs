using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Governance.Limits;

/// <summary>OpenAI's <c>x-ratelimit-*</c> headers for the tightest request and token windows a call met.</summary>
internal static class RateLimitHeaders
{
    public static void Write(IHeaderDictionary headers, LimitAdmission admission)
    {
        Write(headers, admission.Requests, "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests");
        Write(headers, admission.Tokens, "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens");
    }

    /// <summary>A duration as OpenAI writes it: <c>250ms</c>, <c>12s</c>, <c>1m0s</c>.</summary>
    public static string Duration(TimeSpan span)
    {
        if (span.TotalMilliseconds < 1000)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{Math.Max(Math.Ceiling(span.TotalMilliseconds), 0)}ms");
        }

        var seconds = (long)Math.Ceiling(span.TotalSeconds);
        return seconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{seconds}s") : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60}m{seconds % 60}s");
    }

    private static void Write(IHeaderDictionary headers, WindowState state, string limit, string remaining, string reset)
    {
        if (state.Limit < 0)
        {
            return;
        }

        headers[limit] = state.Limit.ToString(CultureInfo.InvariantCulture);
        headers[remaining] = state.Remaining.ToString(CultureInfo.InvariantCulture);
        headers[reset] = Duration(state.ResetIn);
    }
}
