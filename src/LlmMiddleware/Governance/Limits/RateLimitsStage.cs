using System.Threading.RateLimiting;
using LlmMiddleware.Identity;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// Admits a call only within every rate limit that applies to it — its key's, team's, user's, app's, tags', its
/// model's and its model group's, then the host's own limiters — taking all or none. A refusal is a 429
/// <c>rate_limit_exceeded</c> in the caller's protocol with <c>retry-after</c>; an admitted call gets OpenAI's
/// <c>x-ratelimit-*</c> headers for its tightest limits. After the response cache by default: hits are not counted.
/// </summary>
internal sealed class RateLimitsStage(LlmRateLimits limits, CallerIdentities callers, RateLimitRefusals refusals) : LlmCallStage
{
    public override bool EditsRequest => false;

    internal override bool PassesThrough(LlmRequestContext context) => limits.Book.IsEmpty && limits.Options.Limiters.Count == 0;

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        var book = limits.Book;
        var caller = callers.Of(context);
        var estimate = book.IsEmpty ? 0 : CallEstimate.PromptTokens(context) + (context.Request.MaxOutputTokens ?? Routing.RequestNeeds.AssumedOutputTokens);
        var admission = new Admission(new LimitSettlement(estimate), estimate);
        foreach (var scope in book.Scopes)
        {
            if (scope == LlmRateLimitScope.Tag)
            {
                foreach (var (name, value) in caller.Tags ?? Empty)
                {
                    var tag = $"{name}={value}";
                    admission.Take(book.For(scope, tag), context, scope, tag, refusals);
                }
            }
            else if (SubjectOf(context, caller, scope) is { } subject)
            {
                admission.Take(book.For(scope, subject), context, scope, subject, refusals);
            }
        }

        foreach (var limiter in limits.Options.Limiters)
        {
            var lease = limiter.AttemptAcquire(context);
            if (!lease.IsAcquired)
            {
                var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                lease.Dispose();
                throw admission.Refused(context, refusals, null, "the host's limiter", "its limit", retryAfter);
            }

            admission.Held.Hold(lease);
        }

        if (limits.Options.EmitHeaders)
        {
            admission.WriteHeaders(context.HttpContext.Response.Headers);
        }

        if (admission.Held.HoldsUntilSettled)
        {
            context.HoldUntilSettled(admission.Held);
        }

        return next(context, cancellationToken);
    }

    private static readonly Dictionary<string, string> Empty = [];

    private static string? SubjectOf(LlmRequestContext context, LlmCallerIdentity caller, LlmRateLimitScope scope) => scope switch
    {
        LlmRateLimitScope.Key => caller.Key,
        LlmRateLimitScope.Team => caller.Team,
        LlmRateLimitScope.User => caller.User,
        LlmRateLimitScope.App => caller.App,
        LlmRateLimitScope.Model => context.RequestedModel,
        _ => CallEstimate.Candidates(context)?[0].Group,
    };
}
