using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// One call's way through the rate limits: what it took (on <see cref="LimitSettlement"/>, handed back if a later
/// limit refuses) and the tightest request and token windows it met, for the <c>x-ratelimit-*</c> headers.
/// </summary>
internal struct Admission(LimitSettlement held, long estimate)
{
    private WindowState _requests = new(0, -1, long.MaxValue, default);
    private WindowState _tokens = new(0, -1, long.MaxValue, default);

    public readonly LimitSettlement Held => held;

    /// <summary>Takes a permit of each of <paramref name="limiters"/>; throws the refusal if one has none left.</summary>
    public void Take(SubjectLimiters? limiters, LlmRequestContext context, LlmRateLimitScope scope, string subject, RateLimitRefusals refusals)
    {
        if (limiters is null)
        {
            return;
        }

        var rule = limiters.Rule;
        if (limiters.Concurrent is { } concurrent)
        {
            var lease = concurrent.AttemptAcquire();
            if (!lease.IsAcquired)
            {
                throw Refused(context, refusals, scope, subject, $"{rule.MaxConcurrentRequests} requests at once", TimeSpan.FromSeconds(1));
            }

            held.Hold(lease);
        }

        if (limiters.Requests is { } requests)
        {
            var taken = requests.TryTake(1, out var state);
            _requests = Tighter(_requests, state);
            if (!taken)
            {
                throw Refused(context, refusals, scope, subject, $"{rule.RequestsPerMinute} requests per minute", state.ResetIn);
            }

            held.HoldRequest(requests, state.Window);
        }

        if (limiters.Tokens is { } tokens)
        {
            var taken = tokens.TryTake(estimate, out var state);
            _tokens = Tighter(_tokens, state);
            if (!taken)
            {
                throw Refused(context, refusals, scope, subject, $"{rule.TokensPerMinute} tokens per minute (this call may use {estimate})", state.ResetIn);
            }

            held.HoldTokens(tokens, state.Window);
        }
    }

    /// <summary>Hands back what was taken and makes the refusal, with the headers of the windows met so far.</summary>
    public readonly LlmGatewayException Refused(LlmRequestContext context, RateLimitRefusals refusals, LlmRateLimitScope? scope, string subject, string limit, TimeSpan retryAfter)
    {
        held.Release();
        WriteHeaders(context.HttpContext.Response.Headers);
        return refusals.Refuse(context, scope, subject, limit, retryAfter);
    }

    /// <summary>OpenAI's headers for the tightest request and token windows (those with the fewest left).</summary>
    public readonly void WriteHeaders(IHeaderDictionary headers)
    {
        Write(headers, _requests, "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests");
        Write(headers, _tokens, "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens");
    }

    private static WindowState Tighter(WindowState current, WindowState candidate) => candidate.Remaining < current.Remaining ? candidate : current;

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

    /// <summary>A duration as OpenAI writes it: <c>250ms</c>, <c>12s</c>, <c>1m0s</c>.</summary>
    internal static string Duration(TimeSpan span) => span.TotalMilliseconds switch
    {
        < 1000 => string.Create(CultureInfo.InvariantCulture, $"{Math.Max(Math.Ceiling(span.TotalMilliseconds), 0)}ms"),
        var ms when Math.Ceiling(ms / 1000) is var seconds && seconds < 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds}s"),
        var ms => string.Create(CultureInfo.InvariantCulture, $"{(long)Math.Ceiling(ms / 1000) / 60}m{(long)Math.Ceiling(ms / 1000) % 60}s"),
    };
}
