using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Governance.Limits;

/// <summary>OpenAI's <c>x-ratelimit-*</c> headers for the tightest request and token windows a call met.</summary>
internal static class RateLimitHeaders
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<long, string> Limits = new();

    public static void Write(IHeaderDictionary headers, LimitAdmission admission)
    {
        Write(headers, admission.Requests, "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests");
        Write(headers, admission.Tokens, "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens");
    }

    /// <summary>Whole seconds up to a minute as OpenAI writes them (<c>12s</c>, <c>1m0s</c>), made once: a window's reset is always one.</summary>
    private static readonly string[] Seconds = [.. Enumerable.Range(0, 61).Select(s => s < 60 ? $"{s}s" : "1m0s")];

    /// <summary>A duration as OpenAI writes it: <c>250ms</c>, <c>12s</c>, <c>1m0s</c>.</summary>
    public static string Duration(TimeSpan span)
    {
        if (span.TotalMilliseconds < 1000)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{Math.Max(Math.Ceiling(span.TotalMilliseconds), 0)}ms");
        }

        var seconds = (long)Math.Ceiling(span.TotalSeconds);
        return seconds <= 60 ? Seconds[seconds] : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60}m{seconds % 60}s");
    }

    private static void Write(IHeaderDictionary headers, WindowState state, string limit, string remaining, string reset)
    {
        if (state.Limit < 0)
        {
            return;
        }

        headers[limit] = Limits.GetOrAdd(state.Limit, static l => l.ToString(CultureInfo.InvariantCulture)); // limits are few: configured
        headers[remaining] = state.Remaining.ToString(CultureInfo.InvariantCulture);
        headers[reset] = Duration(state.ResetIn);
    }
}
