using System.Threading.RateLimiting;
using LlmMiddleware.Identity;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// Admits a call only within every rate limit that applies to it — the host's own limiters, then its key's, team's,
/// user's, app's, tags', its model's and its model group's — taking all or none. A refusal is a 429
/// <c>rate_limit_exceeded</c> in the caller's protocol with <c>retry-after</c>; an admitted call gets OpenAI's
/// <c>x-ratelimit-*</c> headers for its tightest limits. After the response cache by default: hits are not counted.
/// </summary>
internal sealed class RateLimitsStage(LlmRateLimits limits, CallerIdentities callers, RateLimitRefusals refusals) : LlmCallStage
{
    public override bool EditsRequest => false;

    internal LlmRateLimits Limits => limits;

    internal override bool PassesThrough(LlmRequestContext context) => limits.Book.IsEmpty && limits.Options.Limiters.Count == 0;

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        TakeHostLeases(context);
        var subjects = SubjectsOf(context);
        if (subjects.Length == 0)
        {
            return next(context, cancellationToken);
        }

        var taken = limits.Counters.TryTakeAsync(subjects, Estimate(context), limits.Time.GetUtcNow());
        if (!taken.IsCompletedSuccessfully)
        {
            return AwaitTakenAsync(taken, context, next, cancellationToken);
        }

        Admit(context, taken.Result);
        return next(context, cancellationToken);
    }

    private async ValueTask AwaitTakenAsync(ValueTask<LimitAdmission> taken, LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        Admit(context, await taken.ConfigureAwait(false));
        await next(context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The subjects the call is counted under, with their limits.</summary>
    internal LimitSubject[] SubjectsOf(LlmRequestContext context) => limits.Book.Subjects(context, callers.Of(context));

    /// <summary>The tokens a call is counted for at admission (corrected when it is metered).</summary>
    internal static long Estimate(LlmRequestContext context) =>
        CallEstimate.PromptTokens(context) + (context.Request.MaxOutputTokens ?? Routing.RequestNeeds.AssumedOutputTokens);

    /// <summary>Refuses the call as <paramref name="admission"/> says, or holds what it took until it is metered and
    /// writes the <c>x-ratelimit-*</c> headers.</summary>
    internal void Admit(LlmRequestContext context, LimitAdmission admission)
    {
        var headers = context.HttpContext.Response.Headers;
        if (admission.RefusedBy is { } refusedBy)
        {
            RateLimitHeaders.Write(headers, admission);
            throw refusals.Refuse(context, refusedBy.Scope, refusedBy.Subject, admission.RefusedLimit!, admission.RetryAfter);
        }

        if (limits.Options.EmitHeaders)
        {
            RateLimitHeaders.Write(headers, admission);
        }

        if (admission.Hold is { } hold)
        {
            context.HoldUntilSettled(hold);
        }
    }

    /// <summary>Takes one permit of each of the host's limiters, held until the call ends; or refuses the call (the
    /// permits taken handed back). First, so that nothing needs giving back in the counters when a host limiter refuses.</summary>
    internal void TakeHostLeases(LlmRequestContext context)
    {
        var limiters = limits.Options.Limiters;
        if (limiters.Count == 0)
        {
            return;
        }

        var leases = new List<RateLimitLease>(limiters.Count);
        foreach (var limiter in limiters)
        {
            var lease = limiter.AttemptAcquire(context);
            if (!lease.IsAcquired)
            {
                var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                lease.Dispose();
                leases.ForEach(static l => l.Dispose());
                throw refusals.Refuse(context, null, "the host's limiter", "its limit", retryAfter);
            }

            leases.Add(lease);
        }

        context.HoldUntilSettled(new LeaseSettlement(leases));
    }

    /// <summary>The host's limiter permits, held until the call ends.</summary>
    private sealed class LeaseSettlement(List<RateLimitLease> leases) : Pipeline.CallSettlement
    {
        public override void Recorded(LlmCallRecord record)
        {
        }

        public override void Close(LlmCallRecord? record) => leases.ForEach(static l => l.Dispose());
    }
}
